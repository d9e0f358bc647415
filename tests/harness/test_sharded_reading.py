"""Reading under ``--shard``: each shard yields its own records, and the shards together
what one unsharded reading yields, each record and each unreadable line exactly once.

The NDJSON reader drops another shard's line before parsing it when it can find the
line's URL in its bytes; the lines here are built to make that finding go wrong
(nested and escaped ``url`` members, escaped values, access-log forms, invalid JSON
that still reads ``"url": "..."``). Whatever way a line is keyed, every read of one
job must land in one shard: the shard of its URL's key (``url_key``).
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from jobs_conformance import recordings
from jobs_conformance.errors import error_order
from jobs_conformance.recordings import Reading, Record, read_records
from jobs_conformance.shards import ALL, Shard, url_key, url_path

BASE = "https://gw.example/api/v2"
SHARD_COUNTS = (2, 3)


def _line(**members: object) -> bytes:
    return json.dumps(members).encode() + b"\n"


def _job(job_id: str, **extra: object) -> bytes:
    return _line(method="GET", url=f"{BASE}/jobs/{job_id}", status=200, **extra)


# A URL a careless reader would take for the record's, or the other way round: its key
# falls in another shard than "abc" and "" do, for every count tested.
DECOY = "decoy-a"


def _utf16_line() -> bytes:
    """A line json.loads reads as UTF-16 (a NUL second byte), whose bytes spell a url member
    that its text does not hold: the string value's characters are the decoy's bytes."""
    spelled = f'"url": "/jobs/{DECOY}"'.encode()
    hidden = spelled.decode("utf-16-le")  # 11 characters of CJK, none a surrogate
    text = json.dumps({"x": hidden, "url": "/jobs/abc", "status": 200}, ensure_ascii=False)
    return text.encode("utf-16-le")


# (description, raw line): each awkward for a reader that finds the URL without parsing.
AWKWARD_LINES = [
    ("a plain read", _job("abc")),
    ("the same job in upper case: the same shard", _job("ABC")),
    ("percent-encoded: %41%42%43 is ABC", _job("%41%42%43")),
    ("braces, percent-encoded", _job("%7Babc%7D")),
    (
        "a query string and a fragment",
        _line(url=f"{BASE}/jobs/abc?x=/jobs/{DECOY}#/jobs/{DECOY}", status=200),
    ),
    ("a relative URL", _line(url="/api/v2/jobs/def", status=404)),
    ("a URL of no path", _line(url="https://gw.example", status=200)),
    ("a URL urlsplit refuses: no path", _line(url="ftp://[gw/jobs/abc", status=200)),
    ("another endpoint", _line(url=f"{BASE}/health", status=200, body="ok")),
    ("another method", _line(method="DELETE", url=f"{BASE}/jobs/abc", status=204)),
    (
        "non-ASCII, raw UTF-8",
        json.dumps({"url": f"{BASE}/jobs/été", "status": 200}, ensure_ascii=False).encode(),
    ),
    ("non-ASCII, escaped in the value", _line(url=f"{BASE}/jobs/été", status=200)),
    (
        "a url member in the headers, before the top-level one",
        _line(headers={"url": f"{BASE}/jobs/{DECOY}"}, url=f"{BASE}/jobs/abc", status=200),
    ),
    (
        "a url member only in a nested object; the URL is the uri",
        _line(headers={"url": f"/jobs/{DECOY}"}, uri="/jobs/abc", status=200),
    ),
    (
        "the top-level url after a nested object",
        _line(headers={"X": "1"}, url=f"{BASE}/jobs/qqq", status=200),
    ),
    (
        "a JSON-object body with a url member, after the top-level one",
        _line(url=f"{BASE}/jobs/abc", status=200, body={"url": f"{BASE}/jobs/{DECOY}"}),
    ),
    (
        "a JSON-object body with a url member, before the top-level one",
        _line(body={"url": f"{BASE}/jobs/{DECOY}"}, url=f"{BASE}/jobs/abc", status=200),
    ),
    (
        "a url member in a string body",
        _line(url=f"{BASE}/jobs/abc", status=200, body=json.dumps({"url": f"/jobs/{DECOY}"})),
    ),
    (
        '"url" after a backslash: inside a string, then the url',
        _line(note='a "url', url=f"{BASE}/jobs/abc", status=200),
    ),
    (
        '"url" after a backslash: the end of a member name',
        _line(**{'a "url': f"/jobs/{DECOY}"}, uri="/jobs/abc", status=200),
    ),
    (
        '"url" a value, a colon later',
        _line(a="url", b=f"/jobs/{DECOY}", uri="/jobs/abc", status=200),
    ),
    (
        "a url that is not a string, a string after it",
        _line(url=[], **{f"/jobs/{DECOY}": 1}, uri="/jobs/abc", status=200),
    ),
    ("an access log: uri", _line(uri=f"{BASE}/jobs/abc", status=200)),
    ("an access log: path", _line(path="/api/v2/jobs/ABC", status=200)),
    ("an access log: request", _line(request="GET /api/v2/jobs/aBc HTTP/1.1", status=503)),
    ("an empty url: the uri wins", _line(url="", uri=f"{BASE}/jobs/{DECOY}", status=200)),
    ("a null url: the path wins", _line(url=None, path="/jobs/ttt", status=200)),
    ("a url that is a number", _line(url=12345, status=200)),
    (
        "the member name escaped",
        b'{"\\u0075rl": "' + f"{BASE}/jobs/sss".encode() + b'", "status": 200}',
    ),
    (
        "a duplicate url, its name escaped: JSON takes the last",
        b'{"url": "' + f"/jobs/{DECOY}".encode() + b'", "status": 200, "ur\\u006C": "/jobs/abc"}',
    ),
    (
        "a duplicate url: JSON takes the last",
        b'{"url": "' + f"/jobs/{DECOY}".encode() + b'", "status": 200, "url": "/jobs/abc"}',
    ),
    ("an escaped value", b'{"url": "https:\\/\\/gw.example\\/jobs\\/ooo", "status": 200}'),
    ("an escaped quote in the value", b'{"url": "/jobs/n\\"n", "status": 200}'),
    ("space around the colon", b'{"url"\t :  "/jobs/mmm", "status": 200}'),
    ("leading space", b'  {"url": "/jobs/lll", "status": 200}'),
    ("a blank line", b""),
    ("a line of spaces", b"   \r"),
    ("invalid: cut short", b'{"url": "' + f"{BASE}/jobs/abc".encode() + b'", "status": 2'),
    ("invalid: a member missing a comma", b'{"url": "/jobs/kkk" "status": 200}'),
    ("invalid: no status", _line(url=f"{BASE}/jobs/jjj")),
    ("invalid: a control character in the url", b'{"url": "/jobs/ii\x01i", "status": 200}'),
    ("invalid: not UTF-8", b'{"url": "/jobs/h\xffh", "status": 200}'),
    ("invalid: a NUL after the brace", b'{\x00"url": "/jobs/ggg"}'),
    ("invalid: not an object", b'["url", "/jobs/fff"]'),
    ("invalid: not JSON", b"GET /jobs/abc 200"),
    # Last: a UTF-16 line cut at its b"\n" would keep half of its newline, "\n\x00".
    ("UTF-16, without a newline", _utf16_line()),
]


def _awkward_recording() -> bytes:
    return b"\n".join(line.rstrip(b"\n") for _, line in AWKWARD_LINES)


def _read(name: str, shard: Shard) -> tuple[list[Record], int, list[str]]:
    reading = Reading(shard)
    records = list(read_records(name, "auto", reading))
    return records, reading.unreadable, reading.messages


def _assert_shards_partition_one_reading(name: str) -> None:
    """For N in 2 and 3: the shards' records, unreadable counts and messages add up to one
    reading's, each record in the shard of its URL's key (its place's, without a URL)."""
    records, unreadable, messages = _read(name, ALL)
    assert len(messages) < recordings.MAX_UNREADABLE_SHOWN, "every message is kept"
    for count in SHARD_COUNTS:
        parts = [_read(name, Shard(index, count)) for index in range(1, count + 1)]
        union = [record for part in parts for record in part[0]]
        assert sorted(union, key=repr) == sorted(records, key=repr)
        assert sum(part[1] for part in parts) == unreadable
        # Kept in the order errors are listed in (numbers by value), as one reading keeps them.
        assert sorted((m for part in parts for m in part[2]), key=error_order) == messages
        for index, (held, _, _) in enumerate(parts, 1):
            for record in held:
                key = record.source if record.url is None else url_key(record.url)
                assert Shard(index, count).holds(key), (record, count)


def test_the_decoy_is_in_another_shard_than_abc_and_the_empty_key() -> None:
    for count in SHARD_COUNTS:
        (decoy,) = [k for k in range(1, count + 1) if Shard(k, count).holds(DECOY)]
        assert not Shard(decoy, count).holds("abc") and not Shard(decoy, count).holds("")


def test_awkward_lines_are_each_read_by_exactly_one_shard(tmp_path: Path) -> None:
    source = tmp_path / "awkward.ndjson"
    source.write_bytes(_awkward_recording())
    records, unreadable, _ = _read(str(source), ALL)
    assert unreadable == sum(1 for what, _ in AWKWARD_LINES if what.startswith("invalid"))
    assert len(records) == len(AWKWARD_LINES) - unreadable - 2  # blank lines
    assert records[-1].url == "/jobs/abc", "the UTF-16 line is read as JSON reads it"
    _assert_shards_partition_one_reading(str(source))


def test_gzip_input_is_sharded_as_plain_input(tmp_path: Path) -> None:
    source = tmp_path / "awkward.ndjson.gz"
    source.write_bytes(gzip.compress(_awkward_recording()))
    _assert_shards_partition_one_reading(str(source))


@pytest.mark.parametrize("count", SHARD_COUNTS)
def test_every_read_of_a_job_in_any_case_and_spelling_is_in_one_shard(
    tmp_path: Path, count: int
) -> None:
    spellings = ["abc", "ABC", "aBc", "%41%42%43", "%61bc"]
    lines = [_job(spelling) for spelling in spellings]
    lines += [_line(uri=f"/x/jobs/{s}", status=200) for s in spellings]  # parsed, then keyed
    lines += [_line(request=f"GET /jobs/{s} HTTP/1.1", status=200) for s in spellings]
    source = tmp_path / "cases.ndjson"
    source.write_bytes(b"".join(lines))
    found = [len(_read(str(source), Shard(k, count))[0]) for k in range(1, count + 1)]
    assert sorted(found) == [0] * (count - 1) + [len(lines)]


def test_a_har_export_and_a_cassette_are_sharded_by_url_after_parsing(tmp_path: Path) -> None:
    entries: list[object] = [
        {
            "request": {"method": "GET", "url": f"{BASE}/jobs/{n:04x}", "headers": []},
            "response": {"status": 200, "headers": [], "content": {"text": "{}"}},
        }
        for n in range(40)
    ]
    entries.insert(7, {"request": {"url": "/jobs/no-method"}})  # not an exchange
    har = tmp_path / "export.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}, indent=1))
    _assert_shards_partition_one_reading(str(har))
    cassette = {
        "http_interactions": [
            {
                "request": {"uri": f"{BASE}/jobs/{n:04X}", "method": "GET", "headers": {}},
                "response": {"status": {"code": 404}, "headers": {}, "body": {"string": ""}},
            }
            for n in range(40)
        ]
    }
    vcr = tmp_path / "cassette.yaml"
    vcr.write_text(yaml.safe_dump(cassette) + "- request: [unclosed\n")  # not an interaction
    _assert_shards_partition_one_reading(str(vcr))


def test_a_shard_does_not_parse_another_shards_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "traffic.ndjson"
    source.write_bytes(b"".join(_job(f"{n:08x}-0000-4000-8000-000000000000") for n in range(200)))
    parsed: list[bytes] = []
    loads = json.loads

    def counted(text: bytes) -> object:
        parsed.append(text)
        return loads(text)

    # recordings calls json.loads through the json module: patched there, for the test's span.
    monkeypatch.setattr(json, "loads", counted)
    mine, _, _ = _read(str(source), Shard(1, 2))
    assert 0 < len(mine) < 200
    assert len(parsed) == len(mine), "a line of shard 2 was parsed by shard 1"


# --- The same, over generated lines.

_IDS = ("abc", "ABC", "%41bc", "x%2Fy", "été", "00000000-0000-4000-8000-000000000001")


def _escaped(name: str, mask: int) -> str:
    """``name`` as a JSON string's body with the letters picked by ``mask`` as \\u escapes."""
    return "".join(f"\\u{ord(c):04x}" if mask >> i & 1 else c for i, c in enumerate(name))


@st.composite
def _urls(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["", "/api/v2", BASE, "https://h", "http://h:8080/p"]))
    tail = draw(st.sampled_from(["/jobs/", "/other/", "/", ""]))
    suffix = draw(st.sampled_from(["", "?a=/jobs/z", "#/jobs/z", "?q#f"]))
    return prefix + tail + draw(st.sampled_from(_IDS)) + suffix


@st.composite
def ndjson_lines(draw: st.DrawFn) -> bytes:
    """One NDJSON line as a recording or a hostile writer could hold it: a URL under any of
    the names the reader takes (some escaped, some twice), nested objects with their own url
    members before or after it, any spacing; now and then cut short or broken."""
    members: list[tuple[str, object]] = []
    for name in draw(
        st.permutations(["method", "url", "uri", "path", "request", "headers", "body", "status"])
    ):
        value: object
        if name == "url":
            value = draw(st.one_of(_urls(), st.sampled_from(["", None, 7])))
        elif name in ("uri", "path"):
            value = draw(_urls())
        elif name == "request":
            value = f"GET {draw(_urls())} HTTP/1.1"
        elif name == "headers":
            value = draw(st.sampled_from([{}, {"url": "/jobs/h"}, {"X": ["{", "\\u0075"]}]))
        elif name == "body":
            value = draw(st.sampled_from([None, '{"url": "/jobs/b"}', {"url": "/jobs/b"}, ["url"]]))
        elif name == "status":
            value = draw(st.sampled_from([200, 404, "500"]))
        else:
            value = draw(st.sampled_from(["GET", "get", "POST"]))
        if name != "url" and draw(st.booleans()):
            continue  # absent
        members.append((name, value))
    if draw(st.booleans()):  # the url member again, last, so JSON takes it
        members.append(("url", draw(_urls())))
    colon = draw(st.sampled_from([": ", ":", " : ", "\t:\t"]))
    ascii_only = draw(st.booleans())
    text = (
        "{"
        + ", ".join(
            '"'
            + (_escaped(name, draw(st.integers(0, 7))) if name == "url" else name)
            + '"'
            + colon
            + json.dumps(value, ensure_ascii=ascii_only)
            for name, value in members
        )
        + "}"
    )
    line = text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(line)))
        line = line[:cut] + draw(st.sampled_from([b"", b'"', b"\\", b"\xff", b"{"])) + line[cut:]
    return line.replace(b"\n", b"") + b"\n"


@given(st.lists(ndjson_lines(), max_size=30))
@example([_job("abc"), b'{"url": "/jobs/abc", "\\u0075rl": "/jobs/decoy-a", "status": 200}\n'])
@example([b'{"headers": {"url": "/jobs/decoy-a"}, "uri": "/jobs/abc", "status": 200}\n'])
def test_generated_lines_are_each_read_by_exactly_one_shard(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory(prefix="sharded-reading-") as folder:
        source = Path(folder) / "generated.ndjson"
        source.write_bytes(b"".join(lines))
        _assert_shards_partition_one_reading(str(source))


# What url_path writes out (http and https, absolute paths) and what it leaves to urlsplit.
_URL_STARTS = ("", "http://", "https://", "HTTP://", "/", "//", "ftp://", "mailto:")


@given(st.sampled_from(_URL_STARTS), st.text(alphabet="ab/?#%:.@[]41", max_size=16))
@example("https://", "h")
@example("http://", "/x")
@example("https://", "a?b/c")
@example("ftp://", "[a/b")  # urlsplit refuses it
def test_url_key_is_the_last_segment_of_the_url_path_unquoted(start: str, rest: str) -> None:
    url = start + rest
    try:
        reference = urlsplit(url).path
    except ValueError:
        # A URL urlsplit refuses: any key will do (every shard computes the same one),
        # so long as reading it does not crash.
        assert isinstance(url_key(url), str)
        return
    # urlsplit is the reference: url_path's shortcuts for the usual forms agree with it.
    assert url_path(url) == reference
    assert url_key(url) == unquote(reference.rpartition("/")[2])
