"""Keeping credentials out of everything the suite writes or prints.

What counts as a credential, in one place (the README's "Credentials" lists it):

- every value given with ``--header`` (or its environment variable), and
  its space-separated parts of 8 characters or more ("Bearer abc..."
  leaks the token if only the whole value is known);
- the value of any header whose name matches :data:`_SENSITIVE`
  (``Authorization``, ``Cookie``, ``X-Api-Key``, ``*Token*``, ...); a Basic
  value keeps its scheme (``Basic [REDACTED]``);
- the user-info of any URL (``https://user:password@host``), wherever a URL
  appears in text: it is shown as ``https://[REDACTED]@host``; the password
  (as written and percent-decoded) and the Basic credentials it makes are
  secrets too. Besides ``scheme://``, the forms a client reads an authority
  in: scheme-relative ``//user:pw@host`` (RFC 3986 section 4.2), the WHATWG
  URL Standard's ``http:user:pw@host`` and ``http:\\user:pw@host`` (its
  special schemes), and a bare ``user:pw@host/`` or ``user:pw@host:port`` (what
  curl takes for a proxy);
- the value of any query *or fragment* parameter whose name matches
  :data:`_SENSITIVE_QUERY` (the header rule, plus ``sig``, ``pwd`` and ``jwt``:
  ``api_key``, ``apikey``, ``key``, ``token``, ``access_token``, ``id_token``,
  ``secret``, ``password``, ``sig``, ``signature``, ``X-Amz-Credential``,
  ``auth``...), shown as ``name=[REDACTED]`` (OAuth's implicit flow returns its
  tokens in the fragment, RFC 6749 section 4.2.2); configured values are
  secrets (as written and decoded).

A value ends where the URL grammar ends it (RFC 3986 section 3.2.1 and 3.4):
user-info at its last ``@``, a parameter at the next ``&`` or ``#``; every
sub-delimiter (``!$&'()*+,;=``) inside it is hidden with it. The one guess is
for an apostrophe, legal in a URL but also the shell's and Python's quote
(``curl 'http://h/?token=abc'``): at the end of a value (before a space, the
end of the text, or closing punctuation) it is read as a closing quote and
shown; ``'"'"'``, how :func:`shlex.quote` writes one inside a quoted string,
is part of the value.

:class:`Redactor` replaces them wherever they appear: request records,
reports, curl reproductions, JUnit output, console lines, error messages.
:func:`redact_url` applies the structural rules alone, for messages written
before a run's redactor exists (a usage error that echoes a bad URL).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from jobs_conformance.client import ClientSettings
    from jobs_conformance.settings import Settings

__all__ = [
    "BASIC_MARKER",
    "MARKER",
    "Redactor",
    "basic_credentials",
    "is_sensitive_header",
    "is_sensitive_query",
    "may_hold_secrets",
    "recorded_secrets",
    "redact_url",
    "url_secrets",
    "userinfo",
    "with_userinfo_credentials",
    "without_userinfo",
]

MARKER = "[REDACTED]"
BASIC_MARKER = f"Basic {MARKER}"
_WORDS = "authorization|cookie|key|token|secret|password|passwd|session|signature|credential|auth"
_SENSITIVE = re.compile(_WORDS, re.I)
# Query names: the header words, plus the short names signed URLs use (Azure
# SAS's "sig"), "pwd" and "jwt". "sig" only as a whole word of the name, so
# "design" or "signal" keep their values.
_SENSITIVE_QUERY = re.compile(rf"{_WORDS}|pwd|jwt|(?:^|[-_.])sig(?:$|[-_.])", re.I)
_MIN_SECRET = 4  # shorter values would blank out ordinary text such as "true"
# One colon-separated part of a user-info: any character but those that end an
# authority or cannot be in a URL, and shlex.quote's '"'"' (an apostrophe
# inside a quoted string). An "@" too: a raw one in a password is still the
# user-info's, which ends at the last "@" before the host.
_PART = r"""[^:/?#\s"<>]*(?:'"'"'[^:/?#\s"<>]*)*"""
# "scheme://" then a user-info. Each start scans only to the next "/" (the
# next "scheme://" has one), so the pattern stays linear.
_USERINFO = re.compile(rf"(?i)\b([a-z][a-z0-9+.-]*://){_PART}(?::{_PART})*@")
# Scheme-relative (RFC 3986 section 4.2): a "//" that starts a URL (at the start,
# after a space, quote, bracket or "="), not a path's "//".
_SCHEME_RELATIVE = re.compile(rf"""//(?<![^\s"'`(<\[{{=>]//){_PART}(?::{_PART})*@""")
# The WHATWG URL Standard reads an authority after its special schemes however
# many slashes or backslashes follow, none too ("http:user:pw@host"). Without a
# "/" to stop it, a scan would run over any later "http:", so it stops after
# _LOOSE_COLONS colons, which keeps it linear: a user-info of more is not hidden
# in the forms without "//".
_LOOSE_COLONS = 16
_LAX_SCHEME = re.compile(
    r"(?i)(:(?:(?<=\bhttp:)|(?<=\bhttps:)|(?<=\bws:)|(?<=\bwss:)|(?<=\bftp:))[/\\]*+)"
    rf"{_PART}(?::{_PART}){{0,{_LOOSE_COLONS}}}@"
)
# No scheme at all: "user:password@host/..." or "...@host:port" (curl takes a
# proxy so), starting where a URL may, and not at a special scheme; a host that
# ends there ("mailto:a@b.org", "Contact:ops@example.org") is an e-mail address.
_BARE_HOST = r"(?:[\w.-]+|\[[\w:.%]+\])(?:(?::\d+)?/|:\d+(?![\w.]))"
_BARE_USERINFO = re.compile(
    rf"""(?i)(?<![^\s"'`(<\[{{=>])(?!(?:https?|wss?|ftp):)[\w.~%+-]+:{_PART}(?::{_PART}){{0,{_LOOSE_COLONS - 1}}}"""
    rf"@(?={_BARE_HOST})"
)
_HAS_BARE_HOST = re.compile(f"@{_BARE_HOST}")
# "name=" after "?", "&", ";" or "#" (a fragment's parameters); its value is
# read by _QUERY_VALUE, and only when the name is a credential's.
_QUERY_NAME = re.compile(r"""[?&;#]([^=&;#?/\s"'<>]+)=""")
# Up to the next "&" or "#"; an apostrophe is a closing quote when only closing
# punctuation stands between it and a space, the end or a character no URL has.
_QUERY_VALUE = re.compile(r"""(?:'"'"'|'(?![),;.]*(?:[\s"<>\[\]{}|^`]|$))|[^&#\s"'<>])*""")


def _names_a_credential(name: str) -> bool:
    return bool(_SENSITIVE.search(name))


# Every header of every recorded exchange asks, and traffic uses few, short names.
_remembered = functools.lru_cache(maxsize=256)(_names_a_credential)


def is_sensitive_header(name: str) -> bool:
    """Whether a header's name says it carries a credential."""
    # A long name (a hostile recording's) is not worth keeping.
    return _remembered(name) if len(name) <= 64 else _names_a_credential(name)


def is_sensitive_query(name: str) -> bool:
    """Whether a query parameter's name (percent-decoded) says it carries a credential."""
    return bool(_SENSITIVE_QUERY.search(unquote(name)))


def _credential_values(text: str) -> Iterator[tuple[int, int]]:
    """Where the values of credential-like query and fragment parameters in ``text`` are."""
    position = 0
    while name := _QUERY_NAME.search(text, position):
        position = name.end()
        if is_sensitive_query(name.group(1)):
            end = _QUERY_VALUE.match(text, position).end()  # type: ignore[union-attr]  # matches ""
            if end > position:
                yield position, end
            position = end


def redact_url(text: str) -> str:
    """``text`` with every URL's user-info and credential-like query and fragment values replaced.

    The structural rules only; :meth:`Redactor.text` adds the run's known secrets.
    """
    if "@" in text:
        text = _USERINFO.sub(rf"\1{MARKER}@", text)
        text = _SCHEME_RELATIVE.sub(f"//{MARKER}@", text)
        text = _LAX_SCHEME.sub(rf"\1{MARKER}@", text)
        if _HAS_BARE_HOST.search(text):
            text = _BARE_USERINFO.sub(f"{MARKER}@", text)
    if "=" in text:
        pieces, last = [], 0
        for start, end in _credential_values(text):
            pieces += [text[last:start], MARKER]
            last = end
        text = "".join(pieces) + text[last:] if pieces else text
    return text


def userinfo(url: str) -> tuple[str, str] | None:
    """The percent-decoded user and password of ``url`` (``""`` when absent), or None."""
    return _userinfo(urlsplit(url))


def _userinfo(parts: SplitResult) -> tuple[str, str] | None:
    if "@" not in parts.netloc:
        return None
    return unquote(parts.username or ""), unquote(parts.password or "")


def may_hold_secrets(url: str) -> bool:
    """Whether ``url`` has a place for a credential (user-info, a query, a fragment): one
    without any needs no closer look (every recorded request asks)."""
    return "@" in url or "?" in url or "#" in url


def without_userinfo(url: str) -> str:
    """``url`` without its user-info: what is requested, the credentials going in a header."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def basic_credentials(user: str, password: str) -> str:
    """An ``Authorization`` (or ``Proxy-Authorization``) value, as curl sends user-info (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def with_userinfo_credentials(url: str | None, headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` plus the Basic ``Authorization`` of ``url``'s user-info, unless they hold one.

    The credentials then travel, and are left out or altered by the
    authentication probes, like any configured header.
    """
    credentials = userinfo(url) if url else None
    if credentials is None or any(name.lower() == "authorization" for name in headers):
        return dict(headers)
    return {**headers, "Authorization": basic_credentials(*credentials)}


def url_secrets(url: str | None) -> list[str]:
    """The secrets ``url`` holds: its password and Basic credentials, credential-like query
    and fragment values (the ones :func:`redact_url` hides).

    Each as written and percent-decoded, since a target may echo either.
    """
    if not url or not may_hold_secrets(url):
        return []
    found: list[str] = []
    parts = urlsplit(url)
    credentials = _userinfo(parts)
    if credentials is not None:
        user, password = credentials
        raw = parts.netloc.rpartition("@")[0]
        found += [raw, raw.partition(":")[2], password, basic_credentials(user, password)[6:]]
    for start, end in _credential_values(url):
        value = url[start:end]
        found += [value, unquote(value.replace("+", " "))]
    return found


def recorded_secrets(url: str | None, headers: Iterable[tuple[str, str]]) -> list[str]:
    """The secrets a recorded request carried, for a :class:`Redactor` of what came back.

    A recording's redactor knows no configured secret, so a body echoing the
    request's credentials would show them; these are: the values of its
    credential-like headers (:func:`is_sensitive_header`), with the credential
    after an ``Authorization`` scheme however short (``Bearer X``), a Basic
    credential's decoded ``user:password`` and password, and each cookie's value;
    and :func:`url_secrets`.
    """
    pairs = [(name, value) for name, value in headers if is_sensitive_header(name)]
    found = _header_secrets(value for _, value in pairs)
    for name, value in pairs:
        if "cookie" in name.lower():  # RFC 6265 section 4.2.1: name=value; name=value
            found += [cookie.partition("=")[2].strip() for cookie in value.split(";")]
            continue
        scheme, _, credential = value.strip().partition(" ")
        credential = credential.strip()
        if not credential:
            continue
        found.append(credential)
        if scheme.lower() == "basic":
            found += _basic_secrets(credential)
    return found + url_secrets(url)


def _basic_secrets(credential: str) -> list[str]:
    try:
        decoded = base64.b64decode(credential, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return []
    return [decoded, decoded.partition(":")[2]]


class Redactor:
    """Replaces known secret values, credential-like header values and URL credentials with :data:`MARKER`."""

    def __init__(self, secrets: Iterable[str] = (), header_names: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted(values, key=len, reverse=True)
        # Configured headers: their values are hidden where they are sent,
        # however short (in free text, a short value would blank out words).
        self._header_names = frozenset(name.lower() for name in header_names)

    @classmethod
    def for_headers(cls, headers: Mapping[str, str]) -> Redactor:
        """A redactor for every value of ``headers`` (all were given as configuration)."""
        return cls(_header_secrets(headers.values()), headers)

    @classmethod
    def for_settings(
        cls, settings: Settings | ClientSettings, headers: Mapping[str, str]
    ) -> Redactor:
        """A run's redactor: ``headers`` (the configured ones and any the run adds) and the
        credentials in the base, seeding and proxy URLs."""
        urls = (settings.base_url, settings.seed_url, settings.proxy)
        return cls(
            [*_header_secrets(headers.values()), *(s for url in urls for s in url_secrets(url))],
            headers,
        )

    def text(self, value: str) -> str:
        value = redact_url(value)
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MARKER)
        return value

    def header(self, name: str, value: str) -> str:
        # Most runs configure no header: then no name is lowered to look it up. A bearer
        # token is a credential whatever header carries it (a gateway's own name for it).
        if (
            is_sensitive_header(name)
            or (self._header_names and name.lower() in self._header_names)
            or value[:7].lower() == "bearer "
        ):
            # The scheme is no secret, and says how to fill the value in again
            # (a curl reproduction turns Basic into -u USER:PASSWORD).
            return BASIC_MARKER if value[:6].lower() == "basic " else MARKER
        return self.text(value)

    def headers(
        self, headers: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> tuple[tuple[str, str], ...]:
        # A tuple first: what recordings hold, and an ABC's isinstance is slow to say no.
        pairs = (
            headers
            if isinstance(headers, tuple) or not isinstance(headers, Mapping)
            else headers.items()
        )
        return tuple([(name, self.header(name, value)) for name, value in pairs])

    def data(self, value: Any) -> Any:
        """``value`` (JSON-like) with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value


def _header_secrets(values: Iterable[str]) -> list[str]:
    secrets: list[str] = []
    for value in values:
        secrets.append(value)
        # "Bearer abc" leaks "abc" if only the whole value is known.
        secrets.extend(part for part in value.split() if len(part) >= 8)
    return secrets
