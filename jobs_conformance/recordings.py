"""Recorded exchanges read from files: HAR 1.2, NDJSON, VCR cassettes, access logs, bare bodies.

Every input is read as a stream, one record at a time, gzip or not, so a
recording of any size is read in constant memory: NDJSON a line at a time,
a HAR one entry of ``log.entries`` at a time (:class:`_JsonCursor` walks the
document without loading it), a cassette one interaction at a time. What
cannot be read is said with the file and the line, and reading goes on: a
truncated HAR still yields every entry before the cut, an invalid JSON line
every other line.

The format is detected from the first bytes, or given (``--format``).
``bodies`` is what ``validate`` reads: a file is one captured 200 body, or
with ``jsonl`` each non-blank line is one.

Under ``--shard K/N`` (``Reading(shard)``) only the shard's records are
yielded, each keyed by its URL (:func:`jobs_conformance.shards.url_key`), or
by its place (file:line) when it has none. Every process reads every input,
so the reading is where the time goes: an NDJSON line of another shard is
dropped before it is parsed, its URL found in its bytes
(:func:`_top_level_url`) when that is certainly the URL ``json.loads``
would give the record. When it is not certain (no ``"url"`` member, one
after a nested object or in an escaped spelling, an escaped value), the
line is parsed, as it always is with one shard, and keyed by its record.
Whichever way a line's key was found, that key alone decides its shard,
even when the line then turns out unreadable: each line, each problem, is
the business of exactly one shard, and the shards together yield what one
unsharded reading does.
"""

from __future__ import annotations

import base64
import bisect
import codecs
import errno
import gzip
import io
import json
import re
import sys
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from jobs_conformance.errors import error_order
from jobs_conformance.shards import ALL, Shard, url_key

__all__ = ["FORMATS", "Reading", "Record", "read_records"]

FORMATS = ("auto", "ndjson", "har", "vcr")
_GZIP = b"\x1f\x8b"
# Messages kept of what could not be read; the rest are counted.
MAX_UNREADABLE_SHOWN = 50


@dataclass
class Reading:
    """What reading the inputs met besides records: what could not be read, and where;
    and which shard's records to read (:func:`read_records` yields only those).

    Under ``--shard`` each process reads everything, so each problem is
    counted by one shard: the one of the ``key`` the line was found to have
    before it could not be parsed, else the one its place falls in. The
    messages kept are the first in sorted order, so shards merge to what one
    process keeps.
    """

    shard: Shard = ALL
    unreadable: int = 0
    messages: list[str] = field(default_factory=list)

    def cannot(self, where: str, why: str, *, key: str | None = None) -> None:
        if not self.shard.holds(where if key is None else key):
            return
        self.unreadable += 1
        bisect.insort(self.messages, f"{where}: {why}", key=error_order)
        del self.messages[MAX_UNREADABLE_SHOWN:]


class Record(NamedTuple):
    """One recorded exchange, as the inputs give it; ``source`` says where (file and line).

    A named tuple: one is built for every line of a recording, at a third of a
    frozen dataclass's cost."""

    method: str
    url: str | None  # None: a body captured without its request
    status: int
    headers: tuple[tuple[str, str], ...] | None  # None: recorded without response headers
    body: bytes | None  # None: recorded without its body
    request_headers: tuple[tuple[str, str], ...] = ()
    source: str = ""
    # How the recorder cut the body, when it kept only a prefix: the body is then no
    # evidence of what was served.
    truncated: str | None = None


def _opened(name: str) -> IO[bytes]:
    """``name`` (``-``: stdin) as bytes, decompressed when it is gzip; OSError when unreadable."""
    if name == "-" and sys.stdin is None:  # started with stdin closed (<&-)
        raise OSError(errno.EBADF, "standard input is closed")
    stream: IO[bytes] = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == _GZIP:  # type: ignore[attr-defined]
        return io.BufferedReader(_Gunzipped(buffered))
    return buffered


class _Gunzipped(io.RawIOBase):
    """A gzip stream, one member or several, decompressed as it is read.

    ``gzip.GzipFile`` under a buffer raises at a cut or spoiled end before
    what it decompressed last reaches the reader: the lines of a whole
    buffer were lost. Here every byte decompressed is returned first, and
    the error comes with the read after it. Each step decompresses at most
    a chunk, so a small input that inflates hugely is read in constant memory.
    """

    _CHUNK = 1 << 16

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)  # a gzip header and trailer
        self._out = memoryview(b"")
        self._error: Exception | None = None
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out and not self._ended:
            if self._error is not None:
                error, self._error, self._ended = self._error, None, True
                raise error
            try:
                self._out = memoryview(self._inflated())
            except (zlib.error, EOFError, OSError) as exc:  # gzip.BadGzipFile is an OSError
                self._error = exc
        count = min(len(buffer), len(self._out))
        buffer[:count] = self._out[:count]
        self._out = self._out[count:]
        return count

    def _inflated(self) -> bytes:
        """The next bytes decompressed (perhaps none yet); b"" with ``_ended`` at the end."""
        inflate = self._inflate
        if inflate.eof:  # a member ended: another may follow (gzip -c a b > c)
            # What came after it (unconsumed_tail may hold it too: it is never read again).
            rest = inflate.unused_data or self._source.read(self._CHUNK)
            if not rest:
                self._ended = True
                return b""
            if not _GZIP.startswith(rest[:2]):
                raise gzip.BadGzipFile("what follows the gzip data is not gzip")
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
            return self._inflate.decompress(rest, self._CHUNK)
        if inflate.unconsumed_tail:
            return inflate.decompress(inflate.unconsumed_tail, self._CHUNK)
        data = self._source.read(self._CHUNK)
        if not data:
            raise EOFError("the gzip data is cut short")
        return inflate.decompress(data, self._CHUNK)


def read_records(
    name: str,
    fmt: str,
    reading: Reading,
    *,
    jsonl: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
) -> Iterator[Record]:
    """The records of one input (``-`` is stdin) in ``reading``'s shard; what cannot be read
    goes to ``reading``.

    ``jsonl`` and ``headers`` are for ``bodies``: one body a line, and the
    headers they were served with.
    """
    try:
        stream = _opened(name)
    except OSError as exc:
        reading.cannot(name, f"cannot read ({exc.strerror})")
        return
    try:
        head = stream.peek(4096)[:4096]  # type: ignore[attr-defined]
        chosen = fmt if fmt != "auto" else _detected(head)
        if chosen is None:
            reading.cannot(f"{name}:1", _unknown(head))
            return
        if chosen == "ndjson":
            yield from _ndjson(stream, name, reading)  # it shards as it reads
            return
        if chosen == "bodies":
            records = _bodies(stream, name, jsonl=jsonl, headers=headers)
        else:
            records = {"har": _har, "vcr": _vcr}[chosen](stream, name, reading)
        shard = reading.shard
        yield from (r for r in records if shard.count == 1 or shard.holds(_key(r)))
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        reading.cannot(name, f"cannot read to the end ({exc})")
    finally:
        if name != "-":
            stream.close()


def _key(record: Record) -> str:
    """A record's shard key: its URL's (see ``url_key``), or its place when it has no URL."""
    return record.source if record.url is None else url_key(record.url)


# A HAR 1.2 document is one object whose one member, "log", is an object: browsers and
# proxies write it first, and may write megabytes of "pages" before its "entries". An
# NDJSON line is an object too, but an exchange's members are "method", "url", ..., and
# a line that starts with a "log" holding an object is no exchange. RFC 8259's white space.
_HAR_START = re.compile(rb'\{[ \t\r\n]*"log"[ \t\r\n]*:[ \t\r\n]*\{')


# What looks like a recording and is not one, with what to give instead: schemathesis's
# event stream (its first event is Initialize), and a JSON array of log entries (what
# `gcloud logging read --format=json` prints), which is no record a line.
_NOT_A_RECORDING = (
    (
        re.compile(rb'\{[ \t\r\n]*"Initialize"[ \t\r\n]*:'),
        "a schemathesis event log (st run --report ndjson), which holds no exchanges: record "
        "a cassette (--report vcr) or a HAR (--report har)",
    ),
    (
        re.compile(rb"\["),
        "a JSON array, not one record a line (gcloud logging read --format=json writes one): "
        "write one a line, e.g. jq -c '.[]'",
    ),
)


def _unknown(head: bytes) -> str:
    """Why an input whose format was not found cannot be read, and what to do."""
    start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    for pattern, what in _NOT_A_RECORDING:
        if pattern.match(start):
            return f"unknown format: {what}"
    shown = head[:40].decode("utf-8", "replace")
    return (
        f"unknown format (not a HAR, NDJSON exchanges, a VCR cassette or an access log; it "
        f"starts {shown!r}); name it with --format"
    )


def _detected(head: bytes) -> str | None:
    """The format of an input from its first bytes; None when it is none of them. A UTF-8
    byte-order mark, which some Windows tools write, says nothing of the format."""
    start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not start:
        return "ndjson"  # empty: no records
    if _HAR_START.match(start):
        return "har"
    if not start.startswith((b"{", b"[")) and b"http_interactions:" in head:
        return "vcr"
    if start.startswith(b"{") and not _NOT_A_RECORDING[0][0].match(start):
        return "ndjson"
    return None


# --- NDJSON exchanges and JSON access logs, one object a line.


def _ndjson(stream: IO[bytes], name: str, reading: Reading) -> Iterator[Record]:
    shard = reading.shard
    sharded = shard.count > 1
    for number, line in enumerate(stream, 1):
        key = None
        if sharded:
            url = _top_level_url(line)
            if url is not None:
                key = url_key(url)
                if not shard.holds(key):
                    continue  # another shard's, unparsed: what makes shards scale
        if not line or line.isspace():  # blank (strip() would copy every line)
            continue
        try:
            item = json.loads(line.decode("utf-8", "surrogatepass") if _utf8_object(line) else line)
            record = _record(item, f"{name}:{number}")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            reading.cannot(f"{name}:{number}", f"not an exchange ({_said(exc)})", key=key)
            continue
        if key is None and sharded and not shard.holds(_key(record)):
            continue
        yield record


# After a member name: the colon and a string of more than nothing, with no escape (so
# its bytes are its text) and no control character (which JSON refuses); RFC 8259's
# white space around the colon (section 2).
_URL_VALUE = re.compile(rb'[ \t\r\n]*:[ \t\r\n]*"([^"\\\x00-\x1f]+)"')
# An escaped letter of "url" (\u0075, \u0072, \u006c), or of others json.dumps never
# escapes. A search with re beats bytes.find here: it skips on the literal prefix.
_ESCAPED_URL_LETTER = re.compile(rb"\\u00[67]")


def _top_level_url(line: bytes) -> str | None:
    """The ``url`` member of the object on an NDJSON line, found without parsing the line;
    None unless it is certainly the URL :func:`_record` would take from ``json.loads(line)``.

    Certain means: the line starts with ``{`` and no NUL (so it is an object,
    in UTF-8: ``json.loads`` guesses UTF-16 or 32 only from a BOM or a NUL in
    the first bytes); ``"url"`` occurs once and not after a backslash, so it
    opens a string (in valid JSON an unescaped quote before ``url`` can only
    open one) and no other member is named so; no ``{`` before it, so it is a
    member of the top-level object, not of a nested one; no letter of ``url``
    written as a ``\\u`` escape anywhere (``\\u0075``, ``\\u0072``, ``\\u006c``),
    so no other member spells the same name otherwise (JSON would take the
    last; ``json.dumps`` never escapes an ASCII letter, so real lines do not
    hold one); then a string that is not empty, so it wins over every other
    name of :data:`_LINE_FIELDS`. A line that is not valid JSON at all may still
    give a URL here: that only decides which one shard reports it unreadable.

    Two scans of the whole line and a few short steps: about 2.5 µs on a
    700-byte line of ``benchmarks/observe_dask.py``, where ``json.loads`` and
    :func:`_record` cost 8.5 (on the 2-core VM of the benchmarks).
    """
    at = line.find(b'"url"')
    if (
        at < 1
        or not _utf8_object(line)
        or line[at - 1] == 0x5C  # backslash
        or line.find(b"{", 1, at) >= 0
        or line.find(b'"url"', at + 5) >= 0
        or _ESCAPED_URL_LETTER.search(line) is not None
    ):
        return None
    value = _URL_VALUE.match(line, at + 5)
    if value is None:
        return None
    try:
        return value[1].decode("utf-8", "surrogatepass")  # as json.loads decodes bytes
    except UnicodeDecodeError:
        return None  # json.loads will refuse the line; its place keys it


def _utf8_object(line: bytes) -> bool:
    """Whether ``line`` opens an object, ``{`` and then a byte that is not NUL: what
    ``json.loads`` reads as UTF-8 (it guesses UTF-16 or 32 only from a BOM or a NUL in the
    first bytes), so it can be decoded without asking json's encoding detection."""
    return len(line) > 1 and line[0] == 0x7B and line[1] != 0


def _said(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "it nests too deeply to read"
    return f"no {exc}" if isinstance(exc, KeyError) else str(exc)


# Where a JSON access log writes what an exchange needs, shape by shape; the exchange
# format's own members (spec/observed-exchange.schema.json) come first. Of each field
# the first found is taken (null, and "", a log's variable without a value, are not
# found). A tuple is a path into nested objects; an integer picks a word of a request
# line, "GET /api/v2/jobs/... HTTP/1.1". Access logs record no body; most no headers.
# README (observe) and the schema's description list these names, in this order (a
# test holds the three together).
_LINE_FIELDS: dict[str, tuple[tuple[str | int, ...], ...]] = {
    "method": (
        ("method",),  # the exchange format; Envoy, Istio
        ("request_method",),  # nginx $request_method
        ("RequestMethod",),  # Traefik
        ("request", "method"),  # Caddy
        ("httpRequest", "requestMethod"),  # Google Cloud load balancing (a LogEntry)
        ("request", 0),  # nginx $request, the common log formats
    ),
    "url": (
        ("url",),
        ("request_uri",),  # nginx $request_uri: as sent, its query included
        ("request", 1),
        ("uri",),  # nginx $uri: decoded, normalised, perhaps rewritten
        ("path",),  # Envoy, Istio
        ("RequestPath",),  # Traefik
        ("request", "uri"),  # Caddy
        ("httpRequest", "requestUrl"),  # Google Cloud
    ),
    "status": (
        ("status",),  # nginx, Caddy
        ("response_code",),  # Envoy, Istio
        ("DownstreamStatus",),  # Traefik: what the client got (OriginStatus: the backend's)
        ("httpRequest", "status"),  # Google Cloud
    ),
    "headers": (
        ("headers",),
        ("resp_headers",),  # Caddy
    ),
    "request_headers": (
        ("request_headers",),
        ("request", "headers"),  # Caddy
    ),
}


_ABSENT = object()


def _record(item: Mapping[str, Any], source: str) -> Record:
    """An NDJSON exchange, or a JSON access-log line (:data:`_LINE_FIELDS`)."""
    url, status = item.get("url"), item.get("status", _ABSENT)
    if url and status is not _ABSENT:
        # The exchange format (its required members), as nearly every line of a large
        # recording is: read directly, as the table would read it. But its method: a log
        # with a url and a status may name it otherwise, and a DELETE is no GET.
        method = item.get("method") or _found(item, _LINE_FIELDS["method"])
        headers, sent = item.get("headers"), item.get("request_headers")
    else:
        url = _found(item, _LINE_FIELDS["url"])
        if url is None:
            if not _written_empty(item, _LINE_FIELDS["url"]):
                raise ValueError(f"no URL: {_none_of('url')}")
            # The log's request fields, written without a value: a connection that sent no
            # request line (nginx logs "request": "" with its 400 or 408), no exchange to
            # judge. "" is no URL, skipped as such.
            url = ""
        method = _found(item, _LINE_FIELDS["method"])
        status = _found(item, _LINE_FIELDS["status"])
        if status is None:
            raise ValueError(f"no status: {_none_of('status')}")
        headers = _found(item, _LINE_FIELDS["headers"])
        sent = _found(item, _LINE_FIELDS["request_headers"])
    if headers is None and _HEADER_FIELD_NAMES & item.keys():
        # Only a line with a Content-Type written a field counts (_one_field_each): asked
        # by name, not by a scan of every field of every line of an access log.
        headers = _one_field_each(item)
    body = item.get("body")
    if isinstance(body, str):
        data: bytes | None = body.encode("utf-8", "surrogatepass")
    elif body is None:
        data = None
    else:  # a JSON value recorded as such: its canonical text
        data = json.dumps(body).encode("utf-8")
    return Record(
        str(method or "GET").upper(),
        str(url),
        _status(status),
        _pairs(headers),
        data,
        _pairs(sent) or (),
        source,
    )


# Logs that write each response header as a field of its own, named by a prefix: Traefik's
# downstream_{Name} (what the client got, with accessLog.fields.headers) and nginx's
# $sent_http_{name} (in lower case, "_" for "-"), under the variable's own name.
_HEADER_FIELDS = (("downstream_", False), ("sent_http_", True))
# The Content-Type, as each writes it: without it, no header of such a log counts.
_HEADER_FIELD_NAMES = frozenset({"downstream_Content-Type", "sent_http_content_type"})
# What such a log writes for a header it keeps without its value (Traefik's redact mode),
# or for one that was not sent (nginx's "-" outside escape=json).
_NO_VALUE = frozenset({"", "-", "REDACTED"})


def _one_field_each(item: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """The response headers ``item`` writes a field each (:data:`_HEADER_FIELDS`), or None.
    Such a log keeps the headers it is told to keep: without a Content-Type among them, a
    header not kept cannot be told from one not sent, so none count as recorded."""
    pairs = []
    for key, value in item.items():
        for prefix, underscored in _HEADER_FIELDS:
            if key.startswith(prefix) and isinstance(value, str) and value not in _NO_VALUE:
                name = key[len(prefix) :]
                pairs.append((name.replace("_", "-") if underscored else name, value))
    if not any(name.lower() == "content-type" for name, _ in pairs):
        return None
    return pairs


def _found(item: Mapping[str, Any], paths: tuple[tuple[str | int, ...], ...]) -> Any:
    """The value at the first of ``paths`` that holds one in ``item`` (see _LINE_FIELDS)."""
    for path in paths:
        value = item.get(path[0])  # most names are absent from most lines: said at once
        if value is None:
            continue
        for step in path[1:]:
            if isinstance(value, dict):  # what json.loads builds (an ABC's isinstance is slow)
                value = value.get(step)
            elif isinstance(value, str) and isinstance(step, int):
                words = value.split(" ")
                value = words[step] if len(words) > max(step, 1) else None
            else:
                value = None
                break
        if value is not None and value != "":
            return value
    return None


def _written_empty(item: Mapping[str, Any], paths: tuple[tuple[str | int, ...], ...]) -> bool:
    """Whether one of ``paths`` names a field ``item`` has, with no value (null or ""): what a
    log writes for a variable it had nothing to fill in with. Of a request line, the line
    itself written empty (nginx's ``"request": ""``); a line of junk has no second word,
    and says nothing."""
    for path in paths:
        value: Any = item
        for step in path:
            if isinstance(step, int):
                break  # a word of the line at ``value``: empty only if the line is
            if not isinstance(value, dict) or step not in value:
                value = _ABSENT
                break
            value = value[step]
        if value is None or value == "":
            return True
    return False


def _none_of(field: str) -> str:
    """The names ``field`` is looked for under, for a message that none held it."""
    names = [
        f"{'.'.join(map(str, path[:-1]))} (a request line's {('method', 'target')[path[-1]]})"
        if isinstance(path[-1], int)
        else ".".join(map(str, path))
        for path in _LINE_FIELDS[field]
    ]
    return "none of " + ", ".join(names)


def _status(value: Any) -> int:
    """A recorded status: an integer of three digits (a JSON number, or its digits as text,
    as access logs often write it), or 0, no answer recorded (a browser's HAR entry for a
    request that failed). Anything else is not an answer to judge: a float, a boolean, a
    number out of range, text that is not ASCII digits."""
    if type(value) is int and 100 <= value <= 999:  # nearly every record
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if type(value) is not int or not (value == 0 or 100 <= value <= 999):
        raise ValueError(f"status is not an HTTP status: {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    """A recorded value in a message: scalars as written (clipped), anything else by its kind
    alone (the text of a YAML alias bomb is exponentially long; a huge integer has none)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return "an integer past 64 bits"
    if not isinstance(value, (str, int, float)) and value is not None:
        return f"a {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# What a header value may be recorded as: text, or a JSON number written for it.
_SCALARS = (str, int, float)


def _pairs(headers: Any) -> tuple[tuple[str, str], ...] | None:
    """Headers as a mapping (one value, or a list of values, per name) or as pairs; None when
    none were recorded (absent, or null), which is not the same as none sent (``{}``).

    A value is text (a number is taken as its text); anything nested is
    refused, not turned into text: the text of a structure that shares its
    parts (a YAML alias, repeated) can be exponentially longer than the
    input that wrote it."""
    if headers is None:
        return None
    if not headers:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs: list[tuple[str, str]] = []
    for k, values in items:
        if not isinstance(k, str):
            raise TypeError(f"header name {_shown(k)} is not text")
        if type(values) is str:  # most headers: one value, as text
            pairs.append((k, values))
            continue
        for value in values if isinstance(values, list) else (values,):
            if not isinstance(value, _SCALARS) or isinstance(value, bool):
                raise TypeError(f"header {k!r} has a value that is not text: {_shown(value)}")
            pairs.append((k, value if isinstance(value, str) else str(value)))
    return tuple(pairs)


# --- HAR 1.2: one JSON document, walked an entry at a time.

# How schemathesis (4.x, reporting/har.py) marks a body it kept only a prefix of, under
# ``[output.truncation] max-recorded-payload-size``, in ``content.comment``: "Body
# truncated: 100 of 357 bytes recorded". Its cassettes say so as ``truncated_from: 357``,
# beside the body (reporting/vcr.py).
_HAR_TRUNCATED = "Body truncated"


class _Truncated(ValueError):
    """The document ended (or broke) before it was complete."""


class _JsonCursor:
    """A JSON document read one value at a time from a stream of bytes.

    ``json.JSONDecoder.raw_decode`` decodes a value at an offset of a text; the
    cursor keeps only the part of the document not yet decoded, reading more
    (twice as much each time, so a large value costs linear time) until the
    value at the offset decodes and does not run to the end of what was read
    (a number cut by a chunk would decode short).
    """

    _SPACE = " \t\r\n"

    def __init__(self, stream: IO[bytes], chunk: int = 1 << 16) -> None:
        self._stream = stream
        self._chunk = chunk
        # utf-8-sig: a byte-order mark before the document (RFC 8259 lets a parser skip it).
        self._decode = codecs.getincrementaldecoder("utf-8-sig")("strict").decode
        self._decoder = json.JSONDecoder()
        self._text = ""
        self._at = 0
        self._lines_before = 0  # newlines in the text already dropped
        self._ended = False

    @property
    def line(self) -> int:
        return self._lines_before + self._text.count("\n", 0, self._at) + 1

    def _more(self, at_least: int) -> bool:
        if self._ended:
            return False
        data = self._stream.read(max(self._chunk, at_least))
        if not data:
            self._ended = True
            self._text += self._decode(b"", final=True)
            return False
        self._lines_before += self._text.count("\n", 0, self._at)
        self._text = self._text[self._at :] + self._decode(data)
        self._at = 0
        return True

    def _next_char(self) -> str:
        """The next character that is not white space ('' at the end), not consumed."""
        while True:
            while self._at < len(self._text) and self._text[self._at] in self._SPACE:
                self._at += 1
            if self._at < len(self._text):
                return self._text[self._at]
            if not self._more(0):
                return ""

    def expect(self, char: str) -> None:
        found = self._next_char()
        if found != char:
            raise _Truncated(f"expected {char!r}, found {found or 'the end of the file'!r}")
        self._at += 1

    def value(self) -> Any:
        self._next_char()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._text, self._at)
            except json.JSONDecodeError as exc:
                # More text helps only a value cut by the end of what was read: a string
                # left open, or an error within a token's length of that end. Any other is
                # in the document, however much more is read: reading on would hold the
                # rest of a corrupt export in memory before saying so.
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self._text) - 16
                if cut and self._more(len(self._text)):
                    continue
                raise _Truncated(exc.msg) from None
            if end == len(self._text) and self._more(0):
                continue  # it may go on in what was not read yet
            self._at = end
            return value

    def members(self) -> Iterator[str]:
        """After '{': each member's name, leaving the cursor at its value (consume it)."""
        if self._next_char() == "}":
            self._at += 1
            return
        while True:
            name = self.value()
            if not isinstance(name, str):
                raise _Truncated("expected a member name")
            self.expect(":")
            yield name
            if not self._another("}"):
                return

    def items(self) -> Iterator[tuple[int, Any]]:
        """After '[': each item, with the line it starts on (where a reader looks for it)."""
        if self._next_char() == "]":
            self._at += 1
            return
        while True:
            self._next_char()
            line = self.line
            yield line, self.value()
            if not self._another("]"):
                return

    def _another(self, close: str) -> bool:
        """After a member or an item: True at ',' (another follows), False at ``close``."""
        separator = self._next_char()
        self._at += 1
        if separator == close:
            return False
        if separator != ",":
            raise _Truncated(f"expected ',' or {close!r}, found {separator or 'the end'!r}")
        return True


def _har(stream: IO[bytes], name: str, reading: Reading) -> Iterator[Record]:
    cursor = _JsonCursor(stream)
    entries = False
    try:
        cursor.expect("{")
        for key in cursor.members():
            if key != "log":
                cursor.value()
                continue
            cursor.expect("{")
            for member in cursor.members():
                if member != "entries":
                    cursor.value()
                    continue
                entries = True
                cursor.expect("[")
                for number, (line, entry) in enumerate(cursor.items()):
                    where = f"{name}:{line}: entry {number}"
                    try:
                        record = _har_record(entry, where)
                    except (KeyError, TypeError, ValueError, AttributeError) as exc:
                        reading.cannot(where, f"not an exchange ({_said(exc)})")
                        continue
                    yield record
    except (_Truncated, UnicodeDecodeError, RecursionError) as exc:
        reading.cannot(f"{name}:{cursor.line}", f"not a complete HAR 1.2 document ({_said(exc)})")
        return
    if not entries:
        reading.cannot(name, "not a HAR 1.2 document (no log.entries)")


def _har_record(entry: Mapping[str, Any], source: str) -> Record:
    request, response = entry["request"], entry["response"]
    content = response.get("content") or {}
    text = content.get("text")
    if text is not None and content.get("encoding") == "base64":
        body: bytes | None = base64.b64decode(text)
    else:
        body = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else None
    comment = content.get("comment")
    return Record(
        str(request["method"]).upper(),
        str(request["url"]),
        _status(response["status"]),
        _har_headers(response.get("headers")),
        body,
        _har_headers(request.get("headers")) or (),
        source,
        comment if isinstance(comment, str) and comment.startswith(_HAR_TRUNCATED) else None,
    )


def _har_headers(headers: Any) -> tuple[tuple[str, str], ...] | None:
    """A HAR's list of ``{"name", "value"}``; None when it has none (HAR 1.2 requires one)."""
    if headers is None:
        return None
    return tuple((str(h["name"]), str(h["value"])) for h in headers)


# --- VCR cassettes (schemathesis's `st run --report vcr`): YAML, one interaction at a time.


def _vcr(stream: IO[bytes], name: str, reading: Reading) -> Iterator[Record]:
    """The cassette's ``http_interactions`` list, each item parsed alone.

    Writers put each item at one indentation (``- `` at the start of a line
    for schemathesis and PyYAML), so the lines of one item are those up to
    the next line that starts the same way.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    marker: str | None = None
    inside = found = False
    item: list[str] = []
    start = 0

    def parsed(lines: list[str], line: int) -> Iterator[Record]:
        where = f"{name}:{line}"
        try:
            (interaction,) = yaml.load("".join(lines), Loader=loader)
            record = _vcr_record(interaction, where)
        except (
            yaml.YAMLError,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            RecursionError,
        ) as exc:
            said = _yaml_said(exc, line) if isinstance(exc, yaml.MarkedYAMLError) else _said(exc)
            reading.cannot(where, f"not an interaction ({said})".replace("\n", " "))
            return
        yield record

    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")  # type: ignore[arg-type]
    number = 0
    for number, line in enumerate(text, 1):
        if not inside:
            if not found and line.startswith("http_interactions:"):
                inside = found = True
            continue
        if marker is None and line.lstrip().startswith("- "):
            marker = line[: len(line) - len(line.lstrip())] + "- "
        if marker is not None and line.startswith(marker):
            if item:
                yield from parsed(item, start)
            item, start = [line], number
        elif item:
            if line[:1] not in (" ", "\t", "\n", "\r", "") and not line.startswith("#"):
                # A top-level key after the list: the interactions are over.
                yield from parsed(item, start)
                item, inside = [], False
                continue
            item.append(line)
    if item:
        yield from parsed(item, start)
    if not found:
        reading.cannot(f"{name}:{number or 1}", "not a VCR cassette (no http_interactions)")


def _yaml_said(exc: Any, first: int) -> str:
    """What a YAML parser said of an interaction starting at line ``first``, at the lines of
    the file. Its own text counts lines from the interaction's first, and PyYAML without
    libyaml quotes the line it stopped at, which may be a credential's header."""

    def at(mark: Any) -> str:
        return "" if mark is None else f" at line {first + mark.line}, column {mark.column + 1}"

    said = f"{exc.problem or 'not YAML'}{at(exc.problem_mark)}"
    return f"{said}, {exc.context}{at(exc.context_mark)}" if exc.context else said


def _vcr_record(interaction: Mapping[str, Any], source: str) -> Record:
    request, response = interaction["request"], interaction["response"]
    if response is None:
        # schemathesis writes ``response: null`` for a request that got no answer (a
        # network error, a timeout): status 0, skipped as a HAR's entry for one is.
        return Record(
            str(request["method"]).upper(),
            str(request["uri"]),
            0,
            None,
            None,
            _pairs(request.get("headers")) or (),
            source,
        )
    body = response.get("body") or {}
    if "base64_string" in body:
        data: bytes | None = base64.b64decode(body["base64_string"])
    else:
        text = body.get("string")
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else None
    return Record(
        str(request["method"]).upper(),
        str(request["uri"]),
        _status(response["status"]["code"]),
        _pairs(response.get("headers")),
        data,
        _pairs(request.get("headers")) or (),
        source,
        _vcr_truncated(response.get("truncated_from"), data),
    )


def _vcr_truncated(size: Any, data: bytes | None) -> str | None:
    """What a cassette's ``truncated_from`` (the size of the body served) says of the body."""
    if size is None:
        return None
    return f"{_HAR_TRUNCATED}: {len(data or b'')} of {_shown(size)} bytes recorded"


# --- Bare bodies (``validate``): captured 200 bodies without their requests.


def _bodies(
    stream: IO[bytes], name: str, *, jsonl: bool, headers: tuple[tuple[str, str], ...]
) -> Iterator[Record]:
    if not jsonl:
        yield Record("GET", None, 200, headers, stream.read(), source=name)
        return
    for number, line in enumerate(stream, 1):
        if line.strip():
            body = line.rstrip(b"\r\n")
            yield Record("GET", None, 200, headers, body, source=f"{name}:{number}")
