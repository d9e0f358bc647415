"""Named behaviours of the reference server: the faults real services ship, and conforming variants.

A :class:`Behaviour` replaces one or more stages of the request pipeline in
:mod:`jobs_conformance.reference.app`. Each fault names the catalogue
requirements it violates; the self-test proves the suite catches every one
through exactly those requirements. Variants conform in unusual ways, and
the suite must pass them.
"""

from __future__ import annotations

import collections
import functools
import gzip
import itertools
import json
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jobs_conformance.contract import load_contract
from jobs_conformance.strategies.uuids import MAX_UUID, NIL_UUID

__all__ = ["FAULTS", "VARIANTS", "Behaviour", "Reply", "lookup_behaviour"]

Job = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """An HTTP answer from the pipeline."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, (("Content-Type", "application/json"),), json.dumps(payload).encode())


@dataclass(frozen=True)
class Behaviour:
    """A named change to one or more pipeline stages; ``None`` keeps the conforming stage.

    Stages, in request order: ``parse_id`` (raw path segment -> id to look up,
    or None when malformed), ``malformed`` (reply for a malformed id),
    ``lookup`` (store, id -> job or None), ``unknown`` (reply for an unheld
    id), ``on_read`` (store, job: side effects of a read), ``render`` (job ->
    document), ``encode`` (document -> body bytes), ``content_type``,
    ``close_connection`` (end every response with Connection: close),
    ``compress`` (gzip when accepted), ``store`` (seeded job -> job as stored) and
    ``auth_when_absent`` (accept requests with no credential header at all).
    """

    name: str
    requirements: frozenset[str]
    summary: str
    parse_id: Callable[[str], str | None] | None = None
    malformed: Callable[[str], Reply] | None = None
    lookup: Callable[[Any, str], Job | None] | None = None
    unknown: Callable[[str], Reply] | None = None
    on_read: Callable[[Any, Job], None] | None = None
    render: Callable[[Job], Any] | None = None
    encode: Callable[[Any], bytes] | None = None
    content_type: str | None = "application/json"
    close_connection: bool = False
    compress: bool = False
    store: Callable[[Job], Job] | None = None
    auth_when_absent: bool = False
    needs: frozenset[str] = field(default_factory=frozenset)
    # The lenient parser a parse_id fault reproduces, as spec/near-misses.yaml names it.
    parser: str | None = None


FAULTS: dict[str, Behaviour] = {}
VARIANTS: dict[str, Behaviour] = {}


def _fault(name: str, requirements: str, summary: str, **stages: Any) -> None:
    if name in FAULTS:
        raise ValueError(f"fault {name!r} is already registered")
    FAULTS[name] = Behaviour(name, frozenset(requirements.split()), summary, **stages)


def _variant(name: str, summary: str, **stages: Any) -> None:
    VARIANTS[name] = Behaviour(name, frozenset(), summary, **stages)


def lookup_behaviour(name: str) -> Behaviour:
    """The fault or variant called ``name``; KeyError when there is none."""
    return FAULTS.get(name) or VARIANTS[name]


# --- Helpers the faults share.


def _map_timestamps(change: Callable[[str], str]) -> Callable[[Job], Job]:
    def render(job: Job) -> Job:
        return {
            k: change(v) if k in ("createdAt", "updatedAt") and isinstance(v, str) else v
            for k, v in job.items()
        }

    return render


def _map_field(name: str, change: Callable[[Any], Any]) -> Callable[[Job], Job]:
    return lambda job: {**job, name: change(job.get(name))}


def _ecma_id(raw: str) -> str | None:
    return raw if load_contract().path_pattern.search(raw) else None


# The doc's pattern, run by Python's `re` as naive services use it: `$`
# matches before a final newline, and the match, not the raw input, is
# looked up; or searched for, unanchored, so prefixes and suffixes pass.
@functools.cache
def _doc_pattern_in_python(anchored: bool) -> re.Pattern[str]:
    source = load_contract().path_pattern.source
    return re.compile(source if anchored else source.removeprefix("^").removesuffix("$"))


def _python_dollar(raw: str) -> str | None:
    match = _doc_pattern_in_python(True).match(raw)
    return match.group(1) if match else None


def _unanchored(raw: str) -> str | None:
    match = _doc_pattern_in_python(False).search(raw)
    return match.group(1) if match else None


def _uuid_module(raw: str) -> str | None:
    # uuid.UUID() accepts braces, "urn:uuid:" and missing hyphens.
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return None


# Other languages' parsers, as spec/near-misses.yaml surveys them. Each
# returns the id to look up (canonical, lower case) or None when it refuses.

_ASCII_HEX = frozenset("0123456789abcdefABCDEF")


def _from_hex(digits: str) -> str | None:
    if len(digits) != 32 or not set(digits) <= _ASCII_HEX:
        return None
    return str(uuid.UUID(hex=digits))


def _hyphenated(text: str) -> str | None:
    if len(text) != 36 or [i for i, c in enumerate(text) if c == "-"] != [8, 13, 18, 23]:
        return None
    return _from_hex(text.replace("-", ""))


def _go_google_uuid(raw: str) -> str | None:
    # google/uuid Parse switches on the length: 38 drops the first character
    # and never reads the last; the urn prefix is compared with EqualFold.
    if len(raw) == 32:
        return _from_hex(raw)
    if len(raw) == 45:
        return _hyphenated(raw[9:]) if raw[:9].lower() == "urn:uuid:" else None
    if len(raw) == 38:
        return _hyphenated(raw[1:37])
    return _hyphenated(raw)


def _rust_uuid(raw: str) -> str | None:
    # pydantic v2 (FastAPI's UUID path parameters) parses with Rust's uuid crate.
    if len(raw) == 32:
        return _from_hex(raw)
    if len(raw) == 38 and raw[0] == "{" and raw[-1] == "}":
        return _hyphenated(raw[1:-1])
    if len(raw) == 45 and raw.startswith("urn:uuid:"):
        return _hyphenated(raw[9:])
    return _hyphenated(raw)


# One component of the X format (TryParseHex): 0x, then an optional '+' and
# a second 0x, then hex digits, leading zeros allowed.
_DOTNET_HEX = r"0[xX]\+?(?:0[xX])?([0-9a-fA-F]+)"
_DOTNET_X = re.compile(rf"\{{(?:{_DOTNET_HEX},){{3}}\{{(?:{_DOTNET_HEX},){{7}}{_DOTNET_HEX}\}}\}}")
# char.IsWhiteSpace: the Unicode separators, and the controls TAB-CR and NEL.
_DOTNET_SPACE = "".join(
    chr(c)
    for c in range(0x10000)
    if unicodedata.category(chr(c)) in ("Zs", "Zl", "Zp") or chr(c) in "\t\n\v\f\r\x85"
)


def _dotnet_compat(field: str) -> str | None:
    # TryCompatParsing: a fixed-width field may start with '+' and/or 0x.
    body = field.removeprefix("+")
    body = body[2:] if body[:2].lower() == "0x" else body
    if not body or not set(body) <= _ASCII_HEX:
        return None
    return body.rjust(len(field), "0")


def _dotnet_d(text: str) -> str | None:
    # The D format: the first four groups and the first four digits of the
    # last take TryCompatParsing's forms; the last eight digits are plain hex.
    if len(text) != 36 or [i for i, c in enumerate(text) if c == "-"] != [8, 13, 18, 23]:
        return None
    fields = [*text.split("-")[:4], text[24:28]]
    digits = [_dotnet_compat(f) for f in fields]
    if None in digits:
        return None
    return _from_hex("".join(digits) + text[28:])  # type: ignore[arg-type]


def _dotnet_x(text: str) -> str | None:
    packed = re.sub(f"[{re.escape(_DOTNET_SPACE)}]", "", text)
    if _DOTNET_X.fullmatch(packed) is None:
        return None
    values = [int(digits, 16) for digits in re.findall(_DOTNET_HEX, packed)]
    head, tail, widths = values[:3], values[3:], (8, 4, 4)
    if any(v >= 16**w for v, w in zip(head, widths, strict=True)) or any(b > 0xFF for b in tail):
        return None
    return _from_hex(
        "".join(f"{v:0{w}x}" for v, w in zip(head, widths, strict=True))
        + "".join(f"{b:02x}" for b in tail)
    )


def _dotnet_guid(raw: str) -> str | None:
    # Guid.TryParse, which ASP.NET Core's {id:guid} constraint and Guid
    # binding use: whitespace trimmed, then the N, D, B, P or X format.
    text = raw.strip(_DOTNET_SPACE)
    if len(text) < 32:
        return None
    if text[0] == "(":
        return _dotnet_d(text[1:-1]) if text[-1] == ")" else None
    if text[0] == "{" and len(text) > 9 and text[9] == "-":
        return _dotnet_d(text[1:-1]) if text[-1] == "}" else None
    if text[0] == "{":
        return _dotnet_x(text)
    return _dotnet_d(text) if len(text) > 8 and text[8] == "-" else _from_hex(text)


_JAVA_LETTERS = {
    **{chr(base + i): 10 + i for base in (0x41, 0x61, 0xFF21, 0xFF41) for i in range(6)},
}


def _java_digit(char: str) -> int | None:
    # Character.digit(char, 16) on one UTF-16 unit: Unicode decimal digits
    # of the BMP, and A-F in ASCII or fullwidth forms, either case.
    if ord(char) > 0xFFFF:
        return None  # two UTF-16 units, neither a digit
    if unicodedata.category(char) == "Nd":
        return unicodedata.digit(char)
    return _JAVA_LETTERS.get(char)


def _java_long(group: str) -> int | None:
    # Long.parseLong(group, 16); a '-' sign never reaches it (the groups are
    # split on '-').
    digits = [_java_digit(c) for c in group.removeprefix("+")]
    if not digits or None in digits:
        return None
    value = 0
    for digit in digits:
        value = value * 16 + digit  # type: ignore[operator]
    return value if value < 2**63 else None


def _java_spring(raw: str) -> str | None:
    # Spring's StringToUUIDConverter trims (every character up to U+0020),
    # then java.util.UUID.fromString: at most 36 characters, five groups,
    # each read by Long.parseLong and masked to its width.
    text = raw.strip("".join(chr(c) for c in range(0x21)))
    groups = text.split("-")
    # The length is in UTF-16 units.
    if len(text.encode("utf-16-le")) // 2 > 36 or len(groups) != 5:
        return None
    value = 0
    for group, bits in zip(groups, (32, 16, 16, 16, 48), strict=True):
        number = _java_long(group)
        if number is None:
            return None
        value = value << bits | number & ((1 << bits) - 1)
    return str(uuid.UUID(int=value))


def _postgres_uuid(raw: str) -> str | None:
    # PostgreSQL's uuid input (string_to_uuid): optional braces, two hex
    # digits a byte, and a hyphen allowed after any group of four digits.
    text, position, digits = raw, 0, []
    braces = text.startswith("{")
    position += braces
    for index in range(16):
        pair = text[position : position + 2]
        if len(pair) != 2 or not set(pair) <= _ASCII_HEX:
            return None
        digits.append(pair)
        position += 2
        if text[position : position + 1] == "-" and index % 2 == 1 and index < 15:
            position += 1
    if braces:
        if text[position : position + 1] != "}":
            return None
        position += 1
    return _from_hex("".join(digits)) if position == len(text) else None


def _php_ramsey(raw: str) -> str | None:
    # ramsey/uuid Uuid::fromString lower-cases, then StringCodec deletes
    # 'urn:', 'uuid:', braces and hyphens wherever they are.
    text = raw.lower()
    for token in ("urn:", "uuid:", "{", "}", "-"):
        text = text.replace(token, "")
    return _from_hex(text)


def _versions(allowed: str) -> Callable[[str], str | None]:
    def parse(raw: str) -> str | None:
        valid = _ecma_id(raw)
        return valid if valid is not None and (valid[14] in allowed or valid == NIL_UUID) else None

    return parse


def _fabricated(job_id: str) -> Reply:
    job = {
        "id": job_id,
        "name": "",
        "createdAt": None,
        "updatedAt": None,
        "organizationId": NIL_UUID,
        "sourceProvider": "",
        "createdByUserId": NIL_UUID,
        "updatedByUserId": None,
        "jobConfigJson": {},
    }
    return json_reply(200, job)


_read_counter = itertools.count(1)


def _touch(store: Any, job: Job) -> None:
    # Last-access bookkeeping written to the same column as updatedAt.
    tick = next(_read_counter)
    job["updatedAt"] = f"9999-12-31T23:59:59.{tick:09d}Z"
    store.put(job)


def _year_shift(stamp: str) -> str:
    # A naive "same date next year" (e.g. expiry = created + 1 year) that
    # keeps Feb 29.
    return f"{int(stamp[:4]) + 1:04d}{stamp[4:]}" if stamp[5:10] == "02-29" else stamp


def _round_seconds(stamp: str) -> str:
    # Formatting seconds with rounding instead of truncation: 59.9 -> 60.
    if len(stamp) > 20 and stamp[19] == ".":
        whole = int(stamp[17:19]) + (1 if stamp[20] >= "5" else 0)
        return f"{stamp[:17]}{whole:02d}Z"
    return stamp


def _kk_hour(stamp: str) -> str:
    # The 1-24 hour clock ("kk" in Java's DateTimeFormatter).
    return stamp[:11] + "24" + stamp[13:] if stamp[11:13] == "00" else stamp


_LOCALE_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _shift_hour(stamp: str) -> str:
    # Stored as local time (UTC+1) but labelled Z.
    hour = int(stamp[11:13])
    return (
        stamp[:11] + f"{(hour + 1) % 24:02d}" + stamp[13:]
        if hour < 23
        else stamp[:11] + "00" + stamp[13:]
    )


def _feb29_to_mar1(stamp: str) -> str:
    return stamp[:5] + "03-01" + stamp[10:] if stamp[5:10] == "02-29" else stamp


def _drop_fraction(stamp: str) -> str:
    return stamp[:19] + "Z" if len(stamp) > 20 and stamp[19] == "." else stamp


def _html_page(raw: str) -> Reply:
    return Reply(
        200,
        (("Content-Type", "text/html; charset=utf-8"),),
        b"<!doctype html><title>Jobs</title><div id=app></div>",
    )


def _server_error(raw: str) -> Reply:
    return Reply(
        500,
        (("Content-Type", "text/plain"),),
        b"Internal Server Error: ValueError: badly formed hexadecimal UUID string",
    )


# --- Timestamps (body.datetime, body.datetime-rfc3339).

_fault(
    "ts-offset",
    "body.datetime",
    "timestamps end in +00:00 instead of Z (isoformat() of an aware datetime)",
    render=_map_timestamps(lambda s: s[:-1] + "+00:00"),
)
_fault(
    "ts-lowercase-z",
    "body.datetime",
    "timestamps end in a lower-case z",
    render=_map_timestamps(lambda s: s[:-1] + "z"),
)
_fault(
    "ts-space-separator",
    "body.datetime",
    "a space instead of T (str() of a datetime)",
    render=_map_timestamps(lambda s: s[:10] + " " + s[11:]),
)
_fault(
    "ts-feb29-non-leap",
    "body.datetime",
    "Feb 29 carried into the next, non-leap year",
    render=_map_timestamps(_year_shift),
)
_fault(
    "ts-hour-24",
    "body.datetime",
    "midnight written as hour 24 (a 1-24 hour clock)",
    render=_map_timestamps(_kk_hour),
)
# Two causes, two findings: rounding writes second 60 (the pattern), and it
# drops every fraction, so a seeded job with one reads back another instant.
_fault(
    "ts-second-60",
    "body.datetime seed.round-trip",
    "fractional seconds rounded, so 59.9 becomes second 60 and every fraction is lost",
    render=_map_timestamps(_round_seconds),
)
_fault(
    "ts-unpadded-year",
    "body.datetime",
    "years below 1000 written without zero padding",
    render=_map_timestamps(lambda s: str(int(s[:4])) + s[4:]),
)
_fault(
    "ts-locale-digits",
    "body.datetime",
    "timestamps formatted with the server locale's Arabic-Indic digits",
    render=_map_timestamps(lambda s: s.translate(_LOCALE_DIGITS)),
)
_fault(
    "ts-trailing-newline",
    "body.datetime",
    "createdAt read from a text column with its newline",
    render=_map_field("createdAt", lambda v: v + "\n" if isinstance(v, str) else v),
)
_fault(
    "ts-missing-seconds",
    "body.datetime-rfc3339",
    "timestamps written to the minute (HH:MM) as stored",
    render=_map_timestamps(lambda s: s[:16] + "Z"),
)

# --- UUIDs (body.uuid).

_fault(
    "uuid-trailing-newline",
    "body.uuid",
    "organizationId read from a file with its trailing newline",
    render=_map_field("organizationId", lambda v: v + "\n"),
)
_fault(
    "uuid-version-0",
    "body.uuid",
    "createdByUserId is a version-0 fixture id left in the data",
    render=_map_field("createdByUserId", lambda v: "00000000-0000-0000-0000-000000000001"),
)
_fault(
    "uuid-max-sentinel",
    "body.uuid",
    "a null updatedByUserId written as the max UUID sentinel",
    render=_map_field("updatedByUserId", lambda v: MAX_UUID if v is None else v),
)
_fault(
    "uuid-braces",
    "body.uuid",
    "organizationId in .NET 'B' format, with braces",
    render=_map_field("organizationId", lambda v: "{" + v + "}"),
)

# --- Body shape (body.json, body.required, body.types, body.job-config, body.workflow-order, body.timeline).

_fault(
    "null-omitted",
    "body.required",
    "null fields dropped by the serializer (exclude_none)",
    render=lambda job: {k: v for k, v in job.items() if v is not None},
)
_fault(
    "envelope",
    "body.required",
    'the job wrapped in a {"data": ...} envelope',
    render=lambda job: {"data": job},
)
_fault(
    "config-as-string",
    "body.job-config",
    "jobConfigJson returned as the JSON text stored in its column",
    render=_map_field("jobConfigJson", json.dumps),
)
_fault(
    "nan-in-body",
    "body.json",
    "a float metric serialized as NaN (json.dumps default allow_nan)",
    render=lambda job: {**job, "progress": float("nan")},
    encode=lambda doc: json.dumps(doc).encode(),
)
_fault(
    "bom-prefix",
    "body.json",
    "a UTF-8 byte-order mark before the body",
    encode=lambda doc: b"\xef\xbb\xbf" + json.dumps(doc).encode(),
)
_fault(
    "duplicate-member",
    "body.json",
    "a hand-built body that writes name twice",
    encode=lambda doc: b'{"name": "", ' + json.dumps(doc).encode()[1:],
)
_fault(
    "source-provider-enum",
    "body.types",
    "sourceProvider serialized as its enum ordinal",
    render=_map_field("sourceProvider", len),
)
_fault(
    "timeline-swapped",
    "body.timeline",
    "createdAt and updatedAt columns swapped in the mapper",
    render=lambda job: {**job, "createdAt": job["updatedAt"], "updatedAt": job["createdAt"]},
)
_fault(
    "order-as-csv",
    "body.workflow-order",
    "workflowExecutionOrder joined into a comma-separated string",
    render=lambda job: {
        **job,
        "jobConfigJson": {
            **job["jobConfigJson"],
            "workflowExecutionOrder": ",".join(
                job["jobConfigJson"].get("workflowExecutionOrder", [])
            ),
        },
    },
)

# --- HTTP (http.*).

_fault(
    "content-type-text",
    "http.content-type",
    "200 bodies sent as text/plain",
    content_type="text/plain; charset=utf-8",
)
_fault(
    "content-type-missing",
    "http.content-type",
    "no Content-Type header on 200 responses",
    content_type=None,
)
_fault(
    "malformed-500",
    "http.malformed-4xx",
    "a malformed id raises and is answered 500",
    malformed=_server_error,
)
_fault(
    "malformed-html-200",
    "http.malformed-4xx",
    "malformed ids fall through to the SPA's 200 HTML page",
    malformed=_html_page,
)
_fault(
    "lenient-uuid-module",
    "http.malformed-4xx",
    "ids parsed with uuid.UUID(): braces, urn:uuid: and missing hyphens accepted",
    parse_id=_uuid_module,
    parser="Python uuid.UUID",
)
_fault(
    "python-dollar",
    "http.malformed-4xx",
    "ids checked with Python's re, whose $ accepts a trailing newline",
    parse_id=_python_dollar,
    parser="pattern whose $ matches before a final newline",
)
_fault(
    "unanchored-match",
    "http.malformed-4xx",
    "ids checked with an unanchored search, so prefixes and suffixes pass",
    parse_id=_unanchored,
    parser="unanchored pattern search",
)
_fault(
    "go-google-uuid",
    "http.malformed-4xx",
    "ids parsed with Go's google/uuid Parse: 32 hex digits, urn:uuid: in any case, and any "
    "character on each side accepted",
    parse_id=_go_google_uuid,
    parser="Go google/uuid",
)
_fault(
    "pydantic-uuid",
    "http.malformed-4xx",
    "a FastAPI path parameter typed UUID (pydantic v2, Rust's uuid crate): 32 hex digits, braces "
    "and urn:uuid: accepted",
    parse_id=_rust_uuid,
    parser="Rust uuid / pydantic",
)
_fault(
    "dotnet-guid",
    "http.malformed-4xx",
    "ids bound to a .NET Guid ({id:guid}): the N, B, P and X formats, a '+' in a group and "
    "surrounding whitespace accepted",
    parse_id=_dotnet_guid,
    parser=".NET Guid.Parse",
)
_fault(
    "java-spring-uuid",
    "http.malformed-4xx",
    "ids converted by Spring (trim, then java.util.UUID.fromString): short groups, '+' signs, "
    "Unicode digits and surrounding whitespace accepted",
    parse_id=_java_spring,
    parser="Spring UUID converter",
)
_fault(
    "postgres-uuid-cast",
    "http.malformed-4xx",
    "the raw id cast to PostgreSQL's uuid type: braces, no hyphens and a hyphen after any four "
    "digits accepted",
    parse_id=_postgres_uuid,
    parser="PostgreSQL uuid",
)
_fault(
    "php-ramsey-uuid",
    "http.malformed-4xx",
    "ids parsed with ramsey/uuid Uuid::fromString: 'urn:', 'uuid:', braces and hyphens deleted "
    "wherever they are",
    parse_id=_php_ramsey,
    parser="PHP ramsey/uuid",
)
_fault(
    "whitespace-stripped",
    "http.malformed-4xx",
    "ids stripped of surrounding whitespace before the check",
    parse_id=lambda raw: _ecma_id(raw.strip()),
    parser="strip() before a strict pattern",
)
_fault(
    "only-v1-v5",
    "http.unknown-404 http.status-known",
    "ids validated against RFC 4122 versions 1-5 only: v6-v8 answered 400",
    parse_id=_versions("12345"),
)
_fault(
    "only-v4",
    "http.unknown-404 http.status-known",
    "ids validated as version 4 only",
    parse_id=_versions("4"),
)
_fault(
    "case-sensitive-lookup",
    "http.case-insensitive",
    "the id is looked up byte for byte, so another case is 404",
    lookup=lambda store, job_id: store.get_exact(job_id),
)
_asked: collections.Counter[str] = collections.Counter()
_asked_lock = threading.Lock()


def _every_other_unknown(job_id: str) -> Reply:
    # Round-robin over a pool with one bad member: each unknown id is a 500
    # the first time, a 404 the next, and so on.
    with _asked_lock:
        _asked[job_id] += 1
        bad = _asked[job_id] % 2 == 1
    return _server_error(job_id) if bad else json_reply(404, {"error": "not found"})


_fault(
    "intermittent-500",
    "http.unknown-404",
    "every other request for an unknown id is answered 500 (one bad member of a pool): a flaky "
    "finding",
    unknown=_every_other_unknown,
)
_fault(
    "unknown-fabricated",
    "http.unknown-404",
    "an unknown id is answered 200 with an empty, fabricated job",
    unknown=_fabricated,
)
_fault(
    "wrong-job",
    "http.id-echo",
    "an off-by-one row fetch returns the next job",
    lookup=lambda store, job_id: store.neighbour(job_id),
)
_fault(
    "touch-updated-at",
    "http.idempotent",
    "every read writes updatedAt (last access)",
    on_read=_touch,
)
_fault(
    "auth-absent-skipped",
    "auth.required",
    "the key is checked only when the header is present",
    auth_when_absent=True,
    needs=frozenset({"credentials"}),
)

# --- Seeding (seed.round-trip): only visible through --seed-url.

_fault(
    "seed-timezone-shift",
    "seed.round-trip",
    "seeded timestamps stored as local time (UTC+1) and served as Z",
    store=_map_timestamps(_shift_hour),
    needs=frozenset({"seeding"}),
)
_fault(
    "seed-feb29-to-mar1",
    "seed.round-trip",
    "a date library normalises Feb 29 to Mar 1 on store",
    store=_map_timestamps(_feb29_to_mar1),
    needs=frozenset({"seeding"}),
)
_fault(
    "seed-drops-fractions",
    "seed.round-trip",
    "fractional seconds dropped by a seconds-precision column",
    store=_map_timestamps(_drop_fraction),
    needs=frozenset({"seeding"}),
)


# --- Conforming variants: unusual but within the contract.


def _pad_fraction(stamp: str) -> str:
    if len(stamp) > 20 and stamp[19] == ".":
        digits = stamp[20:-1]
        return stamp[:20] + digits.ljust(9, "0") + "Z" if len(digits) <= 9 else stamp
    return stamp[:19] + ".000000000Z"


_variant(
    "malformed-404",
    "malformed ids answered 404 (the router finds no job) instead of 400",
    malformed=lambda raw: json_reply(404, {"error": "not found"}),
)
_variant(
    "malformed-422",
    "malformed ids answered 422 (a validation framework)",
    malformed=lambda raw: json_reply(422, {"error": "invalid jobId"}),
)
_variant(
    "uppercase-body",
    "UUIDs in the body written in upper case",
    render=lambda job: {
        k: v.upper()
        if k in ("id", "organizationId", "createdByUserId", "updatedByUserId")
        and isinstance(v, str)
        else v
        for k, v in job.items()
    },
)
_variant(
    "nine-digit-fractions",
    "timestamps always carry 9 fraction digits (nanosecond clocks)",
    render=_map_timestamps(_pad_fraction),
)
_variant(
    "extra-properties",
    "extra members in the job and its config",
    render=lambda job: {**job, "status": "idle", "_links": {"self": "/jobs/" + job["id"]}},
)
_variant(
    "charset-parameter",
    "Content-Type with a charset parameter, in mixed case",
    content_type="Application/JSON; charset=UTF-8",
)
_variant(
    "gzip",
    "bodies compressed with Content-Encoding: gzip when the client accepts it",
    compress=True,
)
_variant(
    "connection-close",
    "every response ends with Connection: close",
    close_connection=True,
)
_variant(
    "gone-410",
    "unknown ids answered 410 Gone",
    unknown=lambda job_id: json_reply(410, {"error": "gone"}),
)


def gzip_body(body: bytes) -> bytes:
    return gzip.compress(body, mtime=0)
