"""The ECMA-262 regex engine against the JSON-Schema-Test-Suite's pattern cases, plus our own; and
its two engines (re where it reads a translation as regex does) against each other."""

from __future__ import annotations

import re

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st
from tests_support import vector_params

from jobs_conformance.contract import load_contract
from jobs_conformance.ecma import EcmaSyntaxError, compile_ecma
from jobs_conformance.strategies.timestamps import invalid_timestamps, valid_timestamps
from jobs_conformance.strategies.uuids import invalid_uuids, valid_uuids


def _valid(schema, data) -> bool:
    # The keywords these files use: type (string/object), pattern,
    # patternProperties with additionalProperties false.
    if schema.get("type") == "string" and not isinstance(data, str):
        return False
    if "pattern" in schema and isinstance(data, str):
        return compile_ecma(schema["pattern"]).search(data)
    if "patternProperties" in schema and isinstance(data, dict):
        patterns = [compile_ecma(p) for p in schema["patternProperties"]]
        return all(any(p.search(key) for p in patterns) for key in data)
    return True


@pytest.mark.parametrize("case", vector_params("optional/ecmascript-regex.json", "pattern.json"))
def test_peer_vectors(case):
    schema, data, expected = case
    assert _valid(schema, data) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        # A real newline, which the peer file spells as a backslash and n.
        ("^abc$", "abc\n", False),
        ("^abc$", "abc", True),
        ("^abc$", "abc\r", False),
        ("^a.c$", "a\nc", False),
        ("^a.c$", "a\u2028c", False),
        ("^a.c$", "a\tc", True),
        ("^\\d{4}$", "\uff12\uff10\uff12\uff13", False),  # fullwidth 2023
        ("^\\d{4}$", "2023", True),
        ("^[\\d]$", "\u0663", False),
        ("^[\\D]$", "\u0663", True),
        ("^\\s$", "\u001c", False),  # Python's \s matches U+001C, ECMA's does not
        ("^\\s$", "\ufeff", True),
        ("\\bcole", "école", True),  # é is not an ECMA word character
        ("^[^]$", "\n", True),
        ("^[]$", "", False),
        ("^\\u{1F600}$", "\U0001f600", True),
        ("^(?<y>\\d)\\k<y>$", "11", True),
    ],
)
def test_ecma_semantics_of_our_own(pattern, value, expected):
    assert compile_ecma(pattern).search(value) is expected


def test_doc_patterns_reject_trailing_newline_and_foreign_digits():
    from jobs_conformance.contract import load_contract

    contract = load_contract()
    assert contract.uuid_pattern.search("3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert not contract.uuid_pattern.search("3c90c3cc-0d44-4b50-8888-8dd25736052a\n")
    assert contract.datetime_pattern.search("2024-02-29T00:00Z")
    assert not contract.datetime_pattern.search("2024-02-29T00:00Z\n")
    assert not contract.datetime_pattern.search("\u0662024-02-29T00:00Z")


@pytest.mark.parametrize("pattern", ["\\a", "[abc", "\\", "\\c1", "\\u{110000}", "(?i)x", "\\p"])
def test_invalid_patterns_are_refused(pattern):
    with pytest.raises(EcmaSyntaxError):
        compile_ecma(pattern)


# --- Two engines, one reading. compile_ecma runs a translation on ``re`` when
# ``re`` reads it as ``regex`` does; these hold the two against each other.


def _by_regex(pattern: str) -> regex.Pattern[str]:
    return regex.compile(compile_ecma(pattern).translated, regex.VERSION0)


def _patterns_and_strings(schema, data) -> list[tuple[str, str]]:
    patterns = (
        [schema["pattern"]] if "pattern" in schema else list(schema.get("patternProperties", ()))
    )
    strings = [data] if isinstance(data, str) else list(data) if isinstance(data, dict) else []
    return [(p, s) for p in patterns for s in strings]


@pytest.mark.parametrize(
    "case",
    vector_params("optional/ecmascript-regex.json", "pattern.json"),
)
def test_both_engines_agree_on_peer_vectors(case):
    # Only where the translation runs on re: elsewhere both sides would be regex.
    on_re = [
        (pattern, value)
        for pattern, value in _patterns_and_strings(case[0], case[1])
        if isinstance(compile_ecma(pattern).find.__self__, re.Pattern)
    ]
    for pattern, value in on_re:
        assert compile_ecma(pattern).search(value) is (_by_regex(pattern).search(value) is not None)


@pytest.mark.parametrize(
    ("pattern", "engine"),
    [
        ("^\\d{4}$", re),
        ("^[^]$", re),
        ("\\bcole", re),  # a fixed-width lookbehind
        ("^\\p{L}+$", regex),  # property escapes are regex's
        ("(?<=a+)b", regex),  # a lookbehind of varying width
        ("^(?<y>\\d)\\k<y>$", regex),  # a named group, a backreference
        ("^(a)\\1$", regex),
        ("^x{e<=1}$", regex),  # fuzzy matching in regex, text in re
        ("^[{]$", regex),
    ],
)
def test_each_translation_runs_where_it_reads_the_same(pattern, engine):
    assert isinstance(compile_ecma(pattern).find.__self__, engine.Pattern)


def test_the_docs_patterns_run_on_re():
    contract = load_contract()
    for pattern in (contract.uuid_pattern, contract.datetime_pattern, contract.path_pattern):
        assert isinstance(pattern.find.__self__, re.Pattern), pattern.source


_NEAR_THE_DOCS_PATTERNS = st.one_of(
    valid_uuids(),
    invalid_uuids().map(lambda invalid: invalid.value),
    valid_timestamps(),
    invalid_timestamps().map(lambda invalid: invalid.value),
    st.text(),
)


@given(_NEAR_THE_DOCS_PATTERNS)
def test_both_engines_agree_on_the_docs_patterns(value):
    contract = load_contract()
    for pattern in (contract.uuid_pattern, contract.datetime_pattern, contract.path_pattern):
        assert pattern.search(value) is (_by_regex(pattern.source).search(value) is not None)
