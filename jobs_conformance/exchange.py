"""HTTP exchanges as the oracle sees them: immutable records, no I/O.

The client fills these in; the oracle judges them; reports render them. A
body is parsed once, strictly (RFC 8259), and never raises: a hostile body is
a parse error to report, not an exception.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "Exchange",
    "HttpRequest",
    "HttpResponse",
    "Intent",
    "ParsedBody",
    "parse_json_body",
]

_BOM = b"\xef\xbb\xbf"

_T = TypeVar("_T")


class _cached(Generic[_T]):
    """``functools.cached_property`` without its lock.

    Before Python 3.12 the standard one takes a lock shared by every instance
    on each first read (python/cpython#87634), three times per exchange
    judged. These values are pure functions of a frozen record, so two
    threads computing one twice is harmless.
    """

    def __init__(self, function: Callable[[Any], _T]) -> None:
        self.function = function
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> _T:
        if instance is None:
            return self  # type: ignore[return-value]
        # A non-data descriptor: once stored, the instance's own value is found first.
        value = instance.__dict__[self.name] = self.function(instance)
        return value


class Intent(enum.Enum):
    """Why a request was sent, which decides what its answer must be."""

    CAPTURED = "captured"  # a body captured elsewhere, judged as a 200 body
    KNOWN = "known"  # a job the target holds, by its canonical id
    CASE_VARIANT = "case-variant"  # the same job, hex in another case
    REPEAT = "repeat"  # the same request again, compared with the first answer
    UNKNOWN = "unknown"  # a well-formed id the target does not hold
    MAYBE_HELD = "maybe-held"  # a fixed well-formed id a target may hold (the doc's example)
    MALFORMED = "malformed"  # an id that does not match the pattern
    UNAUTHENTICATED = "unauthenticated"  # credentials removed or altered
    SEEDED = "seeded"  # a job stored through the seeding URL


@dataclass(frozen=True)
class HttpRequest:
    """What was sent. Headers are stored already redacted."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": dict(self.headers)}


@dataclass(frozen=True)
class ParsedBody:
    """A body parsed as strict JSON: ``value`` or the reason it is not JSON."""

    value: Any = None
    error: str | None = None
    kind: str = ""  # the error's class, without the values it quotes


class _DuplicateMember(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (RFC 8259 section 6)")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateMember(f"duplicate member name {key!r} (RFC 8259 section 4)")
            seen.add(key)
    return result


# One decoder for every body: ``json.loads`` with hooks builds a new one per
# call, which costs nearly as much as parsing a job. Decoding is reentrant
# (the scanner keeps no state between calls but a key memo it clears).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_members)


def parse_json_body(body: bytes) -> ParsedBody:
    """Parse ``body`` as one RFC 8259 JSON text in UTF-8; never raises."""
    if body.startswith(_BOM):
        return ParsedBody(
            error="body starts with a byte-order mark (RFC 8259 section 8.1)",
            kind="byte-order mark",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParsedBody(
            error=f"body is not valid UTF-8: byte {exc.start} ({exc.reason})", kind="not UTF-8"
        )
    try:
        # A text starting with U+FEFF, which json.loads refuses, came from the
        # byte-order mark refused above.
        value = _DECODER.decode(text)
    except _DuplicateMember as exc:
        return ParsedBody(error=str(exc), kind="duplicate member")
    except RecursionError:
        return ParsedBody(error="body nests too deeply to parse", kind="nesting")
    except ValueError as exc:
        constant = "is not a JSON value" in str(exc)
        return ParsedBody(
            error=f"body is not JSON: {exc}", kind="NaN or Infinity" if constant else "not JSON"
        )
    return ParsedBody(value=value)


@dataclass(frozen=True)
class HttpResponse:
    """What came back. ``truncated`` marks a body cut off by the size cap or the peer, or
    by whatever recorded it (the exchange's ``body_recorded`` is then False)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    truncated: str | None = None
    elapsed_s: float = 0.0

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @_cached
    def parsed(self) -> ParsedBody:
        return parse_json_body(self.body)

    def to_dict(self, *, excerpt_bytes: int = 2048) -> dict[str, Any]:
        excerpt = self.body[:excerpt_bytes].decode("utf-8", errors="backslashreplace")
        return {
            "status": self.status,
            "headers": dict(self.headers),
            "body_excerpt": excerpt,
            "body_bytes": len(self.body),
            "truncated": self.truncated,
        }


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, with what the answer must satisfy.

    ``baseline`` is an earlier exchange the answer must agree with (the
    canonical request for a case variant, the first GET for a repeat);
    ``expected`` is the job that was seeded, for ``seed.round-trip``.
    ``label`` names the class of the request (a near-miss form, an invalid
    class, a case) and ``detail`` says more of it; ``about`` is the held
    job a request derived from it is about; ``alternates`` are the other
    forms of a held job tried beside this one (its other cases).
    """

    response: HttpResponse
    intent: Intent
    request: HttpRequest | None = None
    job_id: str | None = None
    baseline: Exchange | None = None
    expected: Mapping[str, Any] | None = field(default=None, hash=False)
    label: str = ""
    about: str | None = None
    detail: str = ""
    alternates: tuple[Exchange, ...] = ()
    # The headers a probe sent in place of the configured ones (credentials
    # removed or altered); never shown.
    sent_headers: Mapping[str, str] | None = field(
        default=None, hash=False, compare=False, repr=False
    )
    # Traffic logged without bodies (or with a prefix of one), or without response
    # headers, says nothing of them: the requirements on what was not recorded are not
    # judged (not-checked, never pass).
    body_recorded: bool = True
    headers_recorded: bool = True
    # The credentials a recorded request carried, already gone from ``request``
    # (recorded traffic has no configured secrets): an example made of this
    # exchange hides them wherever its answer echoes them. Never shown.
    secrets: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @_cached  # every check's predicate asks
    def is_success_body(self) -> bool:
        """Whether the body is one the Job schema governs (a 200, or a captured body), and was
        recorded (traffic logged without bodies says nothing about them)."""
        return self.body_recorded and (
            # The status first: Intent.CAPTURED is a slow read before Python 3.12
            # (EnumType.__getattr__), and most bodies judged are 200s.
            self.response.status == 200 or self.intent is Intent.CAPTURED
        )

    @_cached
    def job(self) -> dict[str, Any] | None:
        """The body as a JSON object, when it is one and the schema governs it."""
        if not self.is_success_body or self.response.truncated:
            return None
        value = self.response.parsed.value
        return value if isinstance(value, dict) else None
