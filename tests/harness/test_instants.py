"""The calendar and RFC 3339 parser, and an independent calendar check of the oracle's verdicts."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests_support import vector_params

from jobs_conformance.contract import load_contract
from jobs_conformance.instants import days_in_month, instant_of, is_leap_year, is_rfc3339_datetime
from jobs_conformance.strategies.timestamps import invalid_timestamps, valid_timestamps

YEARS = (0, 1, 2, 3, 4, 1900, 2000, 2100, 2400, 9999)


def _real_date(year: int, month: int, day: int) -> bool:
    # Independent of our code and of the pattern: the standard library's
    # calendar. It has no year 0, but the Gregorian calendar repeats every
    # 400 years, so 0000 is checked as 0400.
    try:
        datetime.date(year or 400, month, day)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("case", vector_params("optional/format/date-time.json", strings_only=True))
def test_rfc3339_parser_agrees_with_peer_vectors(case):
    _, value, valid = case
    assert is_rfc3339_datetime(value) is valid


@pytest.mark.parametrize("year", YEARS)
def test_pattern_agrees_with_independent_calendar_on_every_date(year):
    pattern = load_contract().datetime_pattern
    for month in range(0, 14):
        for day in range(0, 33):
            stamp = f"{year:04d}-{month:02d}-{day:02d}T12:00:00Z"
            expected = 1 <= month <= 12 and _real_date(year, month, day)
            assert pattern.search(stamp) is expected, stamp
            assert (instant_of(stamp) is not None) is expected, stamp


@given(st.sampled_from(YEARS).flatmap(lambda y: valid_timestamps(min_year=y, max_year=y)))
def test_every_generated_valid_timestamp_is_a_real_date(stamp):
    assert load_contract().datetime_pattern.search(stamp)
    assert _real_date(int(stamp[:4]), int(stamp[5:7]), int(stamp[8:10]))


@given(
    st.sampled_from(YEARS),
    invalid_timestamps(classes=("feb-29-non-leap", "day-past-month-end", "day-00")),
)
def test_generated_invalid_dates_fail_both_judges(year, invalid):
    stamp = f"{year:04d}" + invalid.value[4:]
    real = _real_date(year, int(stamp[5:7]), int(stamp[8:10]))
    assert load_contract().datetime_pattern.search(stamp) is real
    assert is_rfc3339_datetime(stamp) is real


def test_leap_years_follow_the_gregorian_rule():
    assert [y for y in YEARS if is_leap_year(y)] == [0, 4, 2000, 2400]
    assert (
        days_in_month(0, 2) == 29 and days_in_month(2100, 2) == 28 and days_in_month(2023, 4) == 30
    )


def test_instants_compare_across_representations():
    assert instant_of("2023-11-07T05:31Z") == instant_of("2023-11-07T05:31:00.000Z")
    assert instant_of("2023-11-07T05:31:00+01:00") == instant_of("2023-11-07T04:31:00Z")
    assert instant_of("0000-12-31T23:59:59Z") < instant_of("0001-01-01T00:00:00Z")
    assert instant_of("2023-11-07T05:31:56.1Z") < instant_of(
        "2023-11-07T05:31:56.10000000000000000001Z"
    )
    assert instant_of("1998-12-31T23:59:60Z") < instant_of("1999-01-01T00:00:00Z")
    assert instant_of("2023-11-07T05:31:56") is None
