"""strategies.timestamps: valid values pass the pattern, invalid ones fail it for their labelled reason."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jobs_conformance.contract import load_contract
from jobs_conformance.instants import instant_of, is_rfc3339_datetime
from jobs_conformance.oracle import describe_datetime
from jobs_conformance.strategies.timestamps import (
    INVALID_TIMESTAMP_CLASSES,
    LEAP_DAYS,
    NON_LEAP_FEB_29,
    invalid_timestamps,
    timestamp_sort_key,
    valid_timestamps,
)

PATTERN = load_contract().datetime_pattern


@given(valid_timestamps())
@example("0000-02-29T00:00Z")
@example("9999-12-31T23:59:59.999999999999999999999999999999Z")
def test_valid_timestamps_match_the_pattern(value):
    assert PATTERN.search(value)
    assert instant_of(value) is not None


@given(valid_timestamps(allow_missing_seconds=False, max_fraction_digits=3))
def test_seconds_and_fraction_limits_are_honoured(value):
    assert is_rfc3339_datetime(value)
    assert len(value) <= len("2023-11-07T05:31:56.123Z")


@given(invalid_timestamps())
def test_invalid_timestamps_fail_the_pattern_and_rfc3339_as_labelled(invalid):
    assert not PATTERN.search(invalid.value)
    assert "body.datetime" in invalid.violates
    assert ("body.datetime-rfc3339" in invalid.violates) is not is_rfc3339_datetime(invalid.value)


@pytest.mark.parametrize("name", INVALID_TIMESTAMP_CLASSES)
@given(data=st.data())
def test_every_invalid_class_fails_for_its_reason(name, data):
    invalid = data.draw(invalid_timestamps(classes=[name]))
    assert invalid.reason == name and not PATTERN.search(invalid.value)
    words = {
        "feb-29-non-leap": "not a leap year",
        "offset": "offset",
        "lowercase-t": "lower-case",
        "lowercase-z": "lower-case",
        "space-separator": "space",
        "trailing-newline": "newline",
        "non-ascii-digit": "non-ASCII",
        "hour-24": "hour 24",
        "minute-60": "minute 60",
        "leap-second": "second 60",
        "month-13": "month 13",
    }
    if name in words:
        assert words[name] in describe_datetime(invalid.value)


def test_edge_dates_are_what_their_names_say():
    assert all(PATTERN.search(f"{d}T00:00:00Z") for d in LEAP_DAYS)
    assert not any(PATTERN.search(f"{d}T00:00:00Z") for d in NON_LEAP_FEB_29)


@given(valid_timestamps(), valid_timestamps())
def test_sort_key_orders_by_instant(a, b):
    assert (timestamp_sort_key(a) < timestamp_sort_key(b)) == (instant_of(a) < instant_of(b))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_year": -1},
        {"max_year": 10000},
        {"min_year": 10, "max_year": 5},
        {"min_year": 1.5},
        {"allow_missing_seconds": 1},
        {"max_fraction_digits": -1},
    ],
)
def test_valid_timestamps_rejects_bad_arguments(kwargs):
    with pytest.raises(InvalidArgument):
        valid_timestamps(**kwargs).example()


def test_invalid_timestamps_rejects_unknown_classes():
    with pytest.raises(InvalidArgument):
        invalid_timestamps(classes=["feb-30"]).example()
