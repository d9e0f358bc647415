"""Reading recordings: what the NDJSON reader makes of a line's bytes and its headers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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
