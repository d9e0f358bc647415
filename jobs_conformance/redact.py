"""Keeping credentials out of everything the suite writes or prints.

Every value given with ``--header`` (or its environment variable) is a
secret, and so is the value of any header whose name looks like a credential.
:class:`Redactor` replaces them wherever they appear: request records,
reports, curl reproductions, JUnit output, console lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MARKER", "Redactor", "is_sensitive_header"]

MARKER = "[REDACTED]"
_SENSITIVE = re.compile(
    r"authorization|cookie|key|token|secret|password|passwd|session|signature|credential|auth", re.I
)
_MIN_SECRET = 4  # shorter values would blank out ordinary text such as "true"


def is_sensitive_header(name: str) -> bool:
    """Whether a header's name says it carries a credential."""
    return bool(_SENSITIVE.search(name))


class Redactor:
    """Replaces known secret values, and credential-like header values, with :data:`MARKER`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted(values, key=len, reverse=True)

    @classmethod
    def for_headers(cls, headers: Mapping[str, str]) -> Redactor:
        """A redactor for every value of ``headers`` (all were given as configuration)."""
        secrets: list[str] = []
        for value in headers.values():
            secrets.append(value)
            # "Bearer abc" leaks "abc" if only the whole value is known.
            secrets.extend(part for part in value.split() if len(part) >= 8)
        return cls(secrets)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MARKER)
        return value

    def header(self, name: str, value: str) -> str:
        return MARKER if is_sensitive_header(name) else self.text(value)

    def headers(
        self, headers: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> tuple[tuple[str, str], ...]:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        return tuple((name, self.header(name, value)) for name, value in pairs)

    def data(self, value: Any) -> Any:
        """``value`` (JSON-like) with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value
