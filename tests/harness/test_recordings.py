"""Reading recordings: what the readers make of a line's bytes, its headers, its format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jobs_conformance.recordings import Reading, _utf8_object, read_records


def _loaded(load: Callable[[], object]) -> str:
    """What ``load()`` gives: its value, or its error, as text (NaN is not equal to
    itself, its repr is)."""
    try:
        return repr(load())
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        return f"{type(exc).__name__}: {exc}"


_JSON_OBJECTS = st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3).map(
    lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
)


@given(
    st.sampled_from([b"", b"{", b"{\x00", b"\x00{", b"\xef\xbb\xbf", b"\xff\xfe", b"{ "]),
    st.one_of(st.binary(max_size=24), _JSON_OBJECTS, _JSON_OBJECTS.map(lambda b: b[1:])),
)
@example(b"{", b'"a": "\xed\xa0\x80"}')  # a lone surrogate in UTF-8: surrogatepass takes it
@example(b"{", b'"a": "\xff"}')
@example(b"", "{}".encode("utf-16"))
def test_a_line_the_reader_decodes_itself_reads_as_json_loads_reads_its_bytes(
    head: bytes, rest: bytes
) -> None:
    # The reader decodes such a line itself, sparing json.loads its encoding detection:
    # the same value, or the same error, whatever the bytes.
    line = head + rest
    if _utf8_object(line):
        decoded = _loaded(lambda: json.loads(line.decode("utf-8", "surrogatepass")))
        assert decoded == _loaded(lambda: json.loads(line))


def test_a_header_recorded_with_several_values_is_one_pair_a_value(tmp_path: Path) -> None:
    line = {
        "url": "/jobs/abc",
        "status": 200,
        "headers": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": "application/json"},
        "request_headers": [["Accept", "application/json"], ["Accept", "*/*"]],
    }
    source = tmp_path / "t.ndjson"
    source.write_text(json.dumps(line) + "\n")
    (record,) = read_records(str(source), "auto", Reading())
    assert record.headers == (
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Content-Type", "application/json"),
    )
    assert record.request_headers == (("Accept", "application/json"), ("Accept", "*/*"))


def _read(path: Path, text: str | bytes) -> tuple[list, Reading]:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    reading = Reading()
    return list(read_records(str(path), "auto", reading)), reading


_URL = "/api/v2/jobs/00000000-0000-4000-8000-000000000001"


def test_a_status_is_three_digits_or_none_recorded_and_nothing_else(tmp_path: Path) -> None:
    statuses = [
        "200",
        '"404"',
        "0",
        "999",
        "true",
        "200.0",
        "200.7",
        "1e400",
        '"２００"',
        '" 200"',
        "-5",
        "99",
        "1000",
        "100000000000000000000",
        "null",
        "[200]",
    ]
    lines = "".join(f'{{"url": "{_URL}", "status": {s}}}\n' for s in statuses)
    records, reading = _read(tmp_path / "t.ndjson", lines)
    # Digits as text are how access logs often write a status; 0 is a request with no answer.
    assert [r.status for r in records] == [200, 404, 0, 999]
    assert reading.unreadable == len(reading.messages) == len(statuses) - 4
    assert all("is not an HTTP status" in m for m in reading.messages)


def test_a_cassette_whose_aliases_expand_exponentially_is_refused_at_once(tmp_path: Path) -> None:
    # A "billion laughs" under the headers, and as the status: its text is never built.
    levels = ['a: &x0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] + [
        f"{chr(98 + n)}: &x{n + 1} [" + ",".join([f"*x{n}"] * 9) + "]" for n in range(12)
    ]
    headers = "\n".join("      " + line for line in levels)
    cassette = (
        "http_interactions:\n"
        f"- request:\n    uri: http://h{_URL}\n    method: GET\n    headers:\n{headers}\n"
        "  response:\n    status: {code: 200}\n    body: {string: 'x'}\n"
        f"- request:\n    uri: http://h{_URL}\n    method: GET\n    headers:\n{headers}\n"
        "  response:\n    status: {code: *x12}\n    body: {string: 'x'}\n"
    )
    records, reading = _read(tmp_path / "bomb.yaml", cassette)
    assert records == [] and reading.unreadable == 2
    said = "\n".join(reading.messages)
    assert "header 'b' has a value that is not text: a list" in said
    assert "status is not an HTTP status: a list" in said


def test_what_nests_too_deeply_or_breaks_its_compression_is_named_not_raised(
    tmp_path: Path,
) -> None:
    import gzip

    deep = f'{{"url": "{_URL}", "status": 200, "body": ' + "[" * 100_000 + "\n"
    good = f'{{"url": "{_URL}", "status": 200}}\n'
    records, reading = _read(tmp_path / "deep.ndjson", good + deep + good)
    assert len(records) == 2 and reading.unreadable == 1
    assert "nests too deeply" in reading.messages[0]
    har = '{"log": {"entries": [' + "[" * 100_000
    records, reading = _read(tmp_path / "deep.har", har)
    assert records == [] and "nests too deeply" in reading.messages[0]
    # A gzip member whose deflate data is corrupt (zlib's error, not gzip's).
    broken = gzip.compress(good.encode() * 50)[:10] + b"\xff" * 50
    records, reading = _read(tmp_path / "broken.ndjson.gz", broken)
    assert records == [] and "cannot read to the end" in reading.messages[0]


def test_a_byte_order_mark_before_a_recording_says_nothing_of_its_format(tmp_path: Path) -> None:
    # Windows tools write one; the records after it are read as without it.
    bom = b"\xef\xbb\xbf"
    line = f'{{"url": "{_URL}", "status": 200}}\n'
    har = json.dumps(
        {
            "log": {
                "entries": [
                    {
                        "request": {"method": "GET", "url": f"http://h{_URL}"},
                        "response": {"status": 200},
                    }
                ]
            }
        }
    )
    cassette = (
        "http_interactions:\n"
        f"- request:\n    uri: http://h{_URL}\n    method: GET\n"
        "  response:\n    status: {code: 200}\n"
    )
    for name, text, count in (
        ("t.ndjson", line * 2, 2),
        ("t.har", har, 1),
        ("t.yaml", cassette, 1),
    ):
        records, reading = _read(tmp_path / name, bom + text.encode())
        assert reading.messages == [] and [r.status for r in records] == [200] * count, name


def test_a_gzip_input_gives_every_line_before_where_it_breaks(tmp_path: Path) -> None:
    import gzip
    import zlib

    text = "".join(f'{{"url": "{_URL}", "status": {200 + n % 300}}}\n' for n in range(20_000))
    data = text.encode()
    packed = gzip.compress(data)
    cut = packed[: len(packed) // 2]
    # zlib's own count of the whole lines before the cut: everything it can decompress.
    before_cut = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(cut).count(b"\n")
    cases = [
        ("junk after it", packed + b"not gzip at all", 20_000, "not gzip"),
        ("cut in the middle", cut, before_cut, "cut short"),
        ("two members", gzip.compress(data[:9999]) + gzip.compress(data[9999:]), 20_000, None),
    ]
    for name, raw, lines, said in cases:
        records, reading = _read(tmp_path / "t.ndjson.gz", raw)
        assert len(records) == lines, name
        if said is None:
            assert reading.messages == [], name
        else:
            (message,) = reading.messages
            assert "cannot read to the end" in message and said in message, name


def _browser_har(pages: int, *, indent: int | None = 2) -> str:
    """A HAR as Chrome and Firefox export it: "log" first, its "pages" before its "entries"."""
    log = {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": [
            {
                "startedDateTime": "2026-11-28T10:00:00.000Z",
                "id": f"page_{n}",
                "title": f"https://app.example/jobs?page={n}",
                "pageTimings": {"onContentLoad": 120.5, "onLoad": 250.25},
            }
            for n in range(pages)
        ],
        "entries": [
            {
                "pageref": "page_0",
                "request": {"method": "GET", "url": f"https://h{_URL}", "headers": []},
                "response": {"status": status, "headers": [], "content": {"size": 0}},
            }
            for status in (200, 404, 500)
        ],
    }
    return json.dumps({"log": log}, indent=indent)


_NESTED_LOG = {"url": _URL, "status": 200, "body": {"log": {"entries": []}}}
# (description, the input, the statuses its records have): the format is found from the
# first bytes alone, however far into the input what tells it apart would be.
DETECTION_CASES = [
    ("a browser's HAR, its entries after 64 KiB of pages", _browser_har(600), [200, 404, 500]),
    ("a HAR on one line", _browser_har(2, indent=None), [200, 404, 500]),
    (
        "NDJSON whose first body holds a log with entries",
        json.dumps(_NESTED_LOG) + "\n" + json.dumps({**_NESTED_LOG, "status": 404}) + "\n",
        [200, 404],
    ),
    (
        "NDJSON whose first member is a log, as text",
        json.dumps({"log": "GET", "url": _URL, "status": 200}) + "\n",
        [200],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(t, e, id=d) for d, t, e in DETECTION_CASES]
)
def test_a_har_is_told_from_ndjson_by_its_first_member_wherever_its_entries_are(
    tmp_path: Path, text: str, expected: list[int]
) -> None:
    records, reading = _read(tmp_path / "recording", text)
    assert reading.messages == []
    assert [r.status for r in records] == expected


def test_the_browser_har_of_the_detection_cases_has_its_entries_after_64_kib() -> None:
    assert _browser_har(600).index('"entries"') > 64 * 1024


def test_a_body_the_recorder_cut_short_is_marked_so(tmp_path: Path) -> None:
    # schemathesis 4.x keeps a prefix of a body past max-recorded-payload-size: its HAR
    # says so in content.comment, its cassette as truncated_from beside the body.
    whole, prefix = '{"id": "x"}', '{"id": "00000050-0050-'
    har = {
        "log": {
            "entries": [
                {
                    "request": {"method": "GET", "url": f"http://h{_URL}"},
                    "response": {
                        "status": 200,
                        "content": {
                            "size": 357,
                            "text": prefix,
                            "comment": "Body truncated: 22 of 357 bytes recorded",
                        },
                    },
                },
                {
                    "request": {"method": "GET", "url": f"http://h{_URL}"},
                    "response": {"status": 200, "content": {"text": whole, "comment": "cached"}},
                },
            ]
        }
    }
    records, reading = _read(tmp_path / "t.har", json.dumps(har))
    assert reading.messages == []
    assert [r.truncated for r in records] == ["Body truncated: 22 of 357 bytes recorded", None]
    interaction = (
        "- request:\n    uri: 'http://h{url}'\n    method: 'GET'\n"
        "  response:\n    status:\n      code: '200'\n    headers: {{}}\n"
        "    body:\n      encoding: 'utf-8'\n      string: {body}\n{more}"
        "    http_version: '1.1'\n"
    )
    cassette = "http_interactions:\n" + "".join(
        interaction.format(url=_URL, body=json.dumps(body), more=more)
        for body, more in ((prefix, "    truncated_from: 357\n"), (whole, ""))
    )
    records, reading = _read(tmp_path / "t.yaml", cassette)
    assert reading.messages == []
    cut, kept = records
    assert cut.truncated is not None and f"{len(prefix)} of 357 bytes" in cut.truncated
    assert kept.truncated is None and kept.body == whole.encode()


# --- JSON access logs.

_ID = "00000050-0050-5050-8230-0000000c2c90"
_PATH = f"/api/v2/jobs/{_ID}"
# (description, a line as the server writes it, what is read: method, URL, status and
# response headers, None when not recorded). The shapes the tester met in the field.
ACCESS_LOG_CASES = [
    (
        "nginx: its method variable, not the uri before it",
        {
            "request": f"DELETE {_PATH} HTTP/1.1",
            "request_method": "DELETE",
            "uri": "/rewritten",
            "request_uri": _PATH,
            "status": "204",
        },
        ("DELETE", _PATH, 204, None),
    ),
    (
        "nginx: $request_method and $request_uri alone",
        {"request_method": "DELETE", "request_uri": _PATH, "status": 204},
        ("DELETE", _PATH, 204, None),
    ),
    (
        "nginx: the request line alone",
        {"request": f"POST {_PATH}?x=1 HTTP/1.1", "status": "201", "body_bytes_sent": "9"},
        ("POST", f"{_PATH}?x=1", 201, None),
    ),
    (
        "nginx: the request line, $uri rewritten",
        {"request": f"GET {_PATH} HTTP/1.1", "uri": "/index.php", "status": 200},
        ("GET", _PATH, 200, None),
    ),
    (
        "Envoy, Istio",
        {"method": "HEAD", "path": _PATH, "response_code": 200, "response_flags": "-"},
        ("HEAD", _PATH, 200, None),
    ),
    (
        "Caddy: nested request, response headers beside it",
        {
            "logger": "http.log.access",
            "request": {"method": "GET", "uri": _PATH, "headers": {"Accept": ["*/*"]}},
            "status": 200,
            "resp_headers": {"Content-Type": ["text/html"]},
        },
        ("GET", _PATH, 200, (("Content-Type", "text/html"),)),
    ),
    (
        "Traefik: what the client got, not the backend's status",
        {
            "RequestMethod": "PUT",
            "RequestPath": _PATH,
            "DownstreamStatus": 504,
            "OriginStatus": 0,
        },
        ("PUT", _PATH, 504, None),
    ),
    (
        "Traefik, headers kept: the response's, a field each",
        {
            "RequestMethod": "GET",
            "RequestPath": _PATH,
            "DownstreamStatus": 200,
            "request_Authorization": "Bearer t0k3n",
            "origin_Content-Type": "text/plain",
            "downstream_Content-Type": "application/json",
            "downstream_X-Request-Id": "r1",
        },
        ("GET", _PATH, 200, (("Content-Type", "application/json"), ("X-Request-Id", "r1"))),
    ),
    (
        "Traefik, headers redacted: none recorded",
        {"RequestPath": _PATH, "DownstreamStatus": 200, "downstream_Content-Type": "REDACTED"},
        ("GET", _PATH, 200, None),
    ),
    (
        "nginx, $sent_http_content_type under its own name",
        {"request_uri": _PATH, "status": "200", "sent_http_content_type": "text/html"},
        ("GET", _PATH, 200, (("content-type", "text/html"),)),
    ),
    (
        "nginx, headers kept but no Content-Type: none recorded (not kept, or not sent?)",
        {"request_uri": _PATH, "status": 200, "sent_http_x_request_id": "r1"},
        ("GET", _PATH, 200, None),
    ),
    (
        "Google Cloud load balancing",
        {
            "httpRequest": {
                "requestMethod": "GET",
                "requestUrl": f"https://h{_PATH}",
                "status": 404,
            }
        },
        ("GET", f"https://h{_PATH}", 404, None),
    ),
    (
        "an exchange (url, status) whose method is named as nginx names it",
        {"url": _PATH, "status": 204, "request_method": "DELETE"},
        ("DELETE", _PATH, 204, None),
    ),
    (
        "an exchange: headers recorded empty",
        {"url": _PATH, "status": 200, "headers": {}},
        ("GET", _PATH, 200, ()),
    ),
]


@pytest.mark.parametrize(
    ("line", "expected"), [pytest.param(line, e, id=d) for d, line, e in ACCESS_LOG_CASES]
)
def test_an_access_log_line_is_read_by_its_servers_names(
    tmp_path: Path, line: dict, expected: tuple
) -> None:
    records, reading = _read(tmp_path / "access.ndjson", json.dumps(line) + "\n")
    assert reading.messages == []
    (record,) = records
    assert (record.method, record.url, record.status, record.headers) == expected
    assert record.body is None


def test_a_line_of_no_shape_known_says_which_names_were_looked_for(tmp_path: Path) -> None:
    lines = [{"target": _PATH, "status": 200}, {"path": _PATH, "code": 200}]
    records, reading = _read(tmp_path / "t.ndjson", "".join(json.dumps(x) + "\n" for x in lines))
    assert records == [] and reading.unreadable == 2
    no_url, no_status = reading.messages
    assert "no URL" in no_url and "request_uri" in no_url and "httpRequest.requestUrl" in no_url
    assert "no status" in no_status and "response_code" in no_status


def _documented(path: tuple[str | int, ...]) -> str:
    """A name of recordings._LINE_FIELDS as the README and the schema write it."""
    if isinstance(path[-1], int):
        return f"the {('first', 'second')[path[-1]]} word of " + ".".join(map(str, path[:-1]))
    return ".".join(map(str, path))


_DOCUMENTED_AS = {
    "method": "method",
    "url": "URL",
    "status": "status",
    "headers": "response headers",
    "request_headers": "request headers",
}


def test_the_readme_and_the_schema_list_the_names_the_reader_reads() -> None:
    import re

    from jobs_conformance.recordings import _LINE_FIELDS

    # The checkout's documents, beside the code they describe.
    checkout = Path(__file__).parents[2]
    readme = (checkout / "README.md").read_text(encoding="utf-8")
    schema = json.loads((checkout / "spec" / "observed-exchange.schema.json").read_text())
    assert set(_DOCUMENTED_AS) == set(_LINE_FIELDS)
    for field, paths in _LINE_FIELDS.items():
        label, names = _DOCUMENTED_AS[field], [_documented(path) for path in paths]
        row = re.search(rf"^\| {label} \| (.*) \|$", readme, re.MULTILINE)
        assert row is not None, label
        listed = row[1].replace("`", "").replace(" (a request line)", "").split(", ")
        assert listed == names, label
        said = re.search(rf"\b{label}: ([^;]*)", schema["description"])
        assert said is not None, label
        assert said[1].replace(" (a request line)", "").split(", ") == names, label


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pure-python"])
def test_a_cassette_that_is_not_yaml_is_named_at_the_files_line_without_its_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, libyaml: bool
) -> None:
    import yaml

    if not libyaml:  # PyYAML installed without libyaml (no wheel for the platform)
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    interaction = (
        f"- request:\n    uri: http://h{_URL}\n    method: GET\n    headers:\n"
        "      {headers}\n  response:\n    status: {{code: 200}}\n"
    )
    cassette = (
        "http_interactions:\n"
        + interaction.format(headers="Accept: [application/json]")
        + interaction.format(headers="X-Api-Key: [ 'S3CR3T-KEY-VALUE'")  # unclosed, line 13
    )
    records, reading = _read(tmp_path / "t.yaml", cassette)
    assert len(records) == 1
    (message,) = reading.messages
    assert message.startswith(f"{tmp_path / 't.yaml'}:9: not an interaction (")
    assert "at line 13, column 18" in message  # where the sequence opened, in the file
    assert "S3CR3T" not in message


def test_a_har_entry_that_is_no_exchange_is_named_at_the_line_it_starts_on(
    tmp_path: Path,
) -> None:
    entry = {
        "request": {"method": "GET", "url": f"http://h{_URL}", "headers": []},
        "response": {"status": 200, "headers": [], "content": {"text": "{}"}},
    }
    bad = {**entry, "response": {**entry["response"], "status": "abc"}}
    har = json.dumps({"log": {"version": "1.2", "entries": [entry, bad, entry]}}, indent=2)
    records, reading = _read(tmp_path / "t.har", har)
    assert len(records) == 2
    (message,) = reading.messages
    line = int(message.split(":")[1])
    assert har.splitlines()[line - 1].strip() == "{"  # the bad entry's first line
    assert '"abc"' in "\n".join(har.splitlines()[line - 1 : line + 20])
    assert message.endswith(": entry 1: not an exchange (status is not an HTTP status: 'abc')")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        pytest.param(
            '{"Initialize": {"command": "st run", "schemathesis_version": "4.0.0"}}\n'
            '{"LoadingStarted": {"id": "1"}}\n',
            "a schemathesis event log (st run --report ndjson), which holds no exchanges",
            id="schemathesis-events",
        ),
        pytest.param(
            '[\n  {"httpRequest": {"requestUrl": "https://h' + _URL + '", "status": 200}}\n]\n',
            "a JSON array, not one record a line",
            id="gcloud-json-array",
        ),
    ],
)
def test_what_looks_like_a_recording_and_is_not_says_what_to_give_instead(
    tmp_path: Path, text: str, said: str
) -> None:
    # One message for the input, not one "no URL" for each of its lines.
    records, reading = _read(tmp_path / "t.json", text)
    assert records == [] and reading.unreadable == 1
    (message,) = reading.messages
    assert message.startswith(f"{tmp_path / 't.json'}:1: unknown format: {said}")


def test_a_har_broken_inside_is_refused_without_reading_the_rest_into_memory() -> None:
    import io

    from jobs_conformance import recordings

    entry = {
        "request": {"method": "GET", "url": f"http://h{_URL}", "headers": []},
        # A body longer than many reads: a value the end of a read cuts is read on.
        "response": {"status": 200, "headers": [], "content": {"text": "x" * 300_000}},
    }
    text = json.dumps({"log": {"entries": [entry] * 2 + [entry] * 60}}, indent=2)
    third = text.index('"status"', text.index('"status"', text.index('"status"') + 1) + 1)
    broken = (text[:third] + '"status": 20x0' + text[third + len('"status": 200') :]).encode()
    stream = io.BytesIO(broken)
    reading = Reading()
    records = list(recordings._har(stream, "t.har", reading))
    assert [r.status for r in records] == [200, 200]  # every entry before the break
    (message,) = reading.messages
    assert "not a complete HAR 1.2 document" in message
    assert stream.tell() < len(broken) // 4  # not the 18 MB after it
