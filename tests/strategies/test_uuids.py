"""strategies.uuids: every valid UUID passes the oracle's pattern, every invalid one fails it."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jobs_conformance.contract import load_contract
from jobs_conformance.oracle import describe_uuid
from jobs_conformance.strategies.uuids import (
    EDGE_UUIDS,
    INVALID_UUID_CLASSES,
    MAX_UUID,
    NEAR_MISS_KINDS,
    NIL_UUID,
    invalid_uuids,
    near_misses,
    simplest_invalid_uuids,
    valid_uuids,
)

PATTERN = load_contract().uuid_pattern


@given(valid_uuids())
@example(NIL_UUID)
@example("ffffffff-ffff-8fff-bfff-ffffffffffff")
def test_valid_uuids_match_the_pattern(value):
    assert PATTERN.search(value)


@pytest.mark.parametrize("version", range(1, 9))
@given(data=st.data())
def test_each_version_and_case_is_generated_as_asked(version, data):
    value = data.draw(valid_uuids(versions=[version], case="upper", allow_nil=False))
    assert value[14] == str(version) and value == value.upper() and value[19] in "89AB"


@given(invalid_uuids())
def test_invalid_uuids_fail_the_pattern(invalid):
    assert not PATTERN.search(invalid.value)
    assert invalid.reason in INVALID_UUID_CLASSES and invalid.violates == {"body.uuid"}


@pytest.mark.parametrize("name", INVALID_UUID_CLASSES)
@given(data=st.data())
def test_every_invalid_class_is_invalid_for_its_stated_reason(name, data):
    invalid = data.draw(invalid_uuids(classes=[name]))
    assert not PATTERN.search(invalid.value)
    expected_words = {
        "version-0": "version nibble '0'",
        "version-9-f": "version nibble",
        "variant-0-7": "variant nibble",
        "variant-c-f": "variant nibble",
        "max-uuid": "max UUID",
        "trailing-newline": "newline",
        "braces": "braces",
        "urn-prefix": "urn:uuid:",
        "non-ascii-lookalike": "non-ASCII",
        "zero-width-character": "non-ASCII",
        "non-hex-letter": "not a hexadecimal digit",
        "misplaced-hyphens": "hyphens",
        "length-35": "35 characters",
        "length-37": "37 characters",
    }
    if name in expected_words:
        assert expected_words[name] in describe_uuid(invalid.value)


def test_simplest_invalid_values_are_what_hypothesis_shrinks_to():
    simplest = simplest_invalid_uuids()
    assert set(simplest) == set(INVALID_UUID_CLASSES)
    for name, invalid in simplest.items():
        assert not PATTERN.search(invalid.value), name
        found = find(
            invalid_uuids(classes=[name]), lambda _: True, settings=settings(database=None)
        )
        assert invalid.value == found.value, name


def test_edge_uuids_are_valid_and_max_is_not():
    assert all(PATTERN.search(u) for u in EDGE_UUIDS)
    assert not PATTERN.search(MAX_UUID)


@given(valid_uuids(allow_nil=False), st.data())
def test_near_misses_are_invalid_and_contain_the_uuid(uuid, data):
    miss = data.draw(near_misses(uuid))
    assert not PATTERN.search(miss.value)
    assert miss.reason in NEAR_MISS_KINDS
    assert miss.value != uuid and miss.value.lower() != uuid.lower()


def test_peer_uuid_vectors_disagree_with_the_pattern_only_where_documented(shared_dir):
    # format: uuid (RFC 9562 syntax) accepts any version and variant nibble;
    # the doc's pattern accepts 1-8 and 8-b (spec/README.md).
    path = shared_dir / "vectors/jsts/draft2020-12/optional/format/uuid.json"
    for group in json.loads(path.read_text(encoding="utf-8")):
        for case in group["tests"]:
            value = case["data"]
            if not isinstance(value, str):
                continue
            if PATTERN.search(value) != case["valid"]:
                assert case["valid"] and (
                    value[14] not in "12345678" or value[19] not in "89abAB"
                ), value


@pytest.mark.parametrize(
    "kwargs",
    [
        {"versions": []},
        {"versions": [0]},
        {"versions": [9]},
        {"versions": [True]},
        {"case": "title"},
        {"allow_nil": "yes"},
    ],
)
def test_valid_uuids_rejects_bad_arguments(kwargs):
    with pytest.raises(InvalidArgument):
        valid_uuids(**kwargs).example()


@pytest.mark.parametrize(
    "call",
    [
        lambda: invalid_uuids(classes=["nope"]),
        lambda: invalid_uuids(classes=[]),
        lambda: near_misses(42),
        lambda: near_misses("x", kinds=["nope"]),
    ],
)
def test_invalid_and_near_miss_strategies_reject_bad_arguments(call):
    with pytest.raises(InvalidArgument):
        call().example()
