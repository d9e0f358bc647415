"""The calendar and RFC 3339 parser, an independent calendar check of the oracle's verdicts, and the
reader held against the Fraction-based one it replaced."""

from __future__ import annotations

import datetime
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from tests_support import vector_params

from jobs_conformance.contract import load_contract
from jobs_conformance.instants import (
    Instant,
    days_in_month,
    instant_of,
    is_leap_year,
    is_rfc3339_datetime,
)
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


# --- The reader this module's integer arithmetic replaced: slicing, and the
# second within the day as an exact Fraction. Kept whole as the reference,
# so a change to the fast one cannot silently move a verdict.

_ASCII_DIGITS = frozenset("0123456789")


def _number(text):
    return int(text) if text and set(text) <= _ASCII_DIGITS else None


def _offset_minutes(text):
    if text in ("Z", "z"):
        return 0
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    hours, minutes = _number(text[1:3]), _number(text[4:6])
    if hours is None or minutes is None or hours > 23 or minutes > 59:
        return None
    return (-1 if text[0] == "-" else 1) * (hours * 60 + minutes)


def _day_number(year, month, day):
    y = year - 1 if month <= 2 else year
    era, year_of_era = divmod(y, 400)
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146097 + year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year


def _reference(text, *, seconds_optional):
    """``(day, exact second)`` of ``text``, or None, as the Fraction-based reader had it."""
    if len(text) < 17 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt":
        return None
    if text[13] != ":":
        return None
    year, month, day = _number(text[0:4]), _number(text[5:7]), _number(text[8:10])
    hour, minute = _number(text[11:13]), _number(text[14:16])
    if None in (year, month, day, hour, minute):
        return None
    rest, second, fraction = text[16:], None, ""
    if rest.startswith(":"):
        second = _number(rest[1:3])
        if second is None or len(rest) < 3:
            return None
        rest = rest[3:]
        if rest.startswith("."):
            end = 1
            while end < len(rest) and rest[end] in _ASCII_DIGITS:
                end += 1
            fraction, rest = rest[1:end], rest[end:]
            if not fraction:
                return None
    elif not seconds_optional:
        return None
    offset = _offset_minutes(rest)
    if offset is None or not 1 <= month <= 12 or not 1 <= day <= days_in_month(year, month):
        return None
    second = second or 0
    if hour > 23 or minute > 59 or second > 60:
        return None
    local = hour * 3600 + minute * 60 - offset * 60
    day_number = _day_number(year, month, day) + local // 86400
    local %= 86400
    if second == 60 and local != 86340:
        return None
    exact = Fraction(local + second)
    return day_number, exact + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)


def _exact(instant: Instant | None):
    if instant is None:
        return None
    digits = instant.fraction
    return instant.day, instant.second + (Fraction(int(digits), 10 ** len(digits)) if digits else 0)


@st.composite
def _rfc3339_forms(draw):
    """What RFC 3339 adds to the doc's pattern, and a step past it: offsets (some out of
    range), lower-case t and z, seconds up to 61, fractions of up to 13 digits."""
    date = draw(valid_timestamps(max_fraction_digits=0))[:10]
    time = f"{draw(st.integers(0, 24)):02d}:{draw(st.integers(0, 60)):02d}"
    if draw(st.booleans()):
        time += f":{draw(st.integers(0, 61)):02d}"
        digits = draw(st.text("0123456789", max_size=13))
        time += f".{digits}" if digits else ""
    zone = draw(
        st.sampled_from(["Z", "z"])
        | st.builds(
            "{}{:02d}:{:02d}".format,
            st.sampled_from("+-"),
            st.integers(0, 24),
            st.integers(0, 60),
        )
    )
    return f"{date}{draw(st.sampled_from('Tt'))}{time}{zone}"


_STAMPS = st.one_of(
    valid_timestamps(),
    invalid_timestamps().map(lambda invalid: invalid.value),
    _rfc3339_forms(),
    # Near the shape, mostly not of it: every early return of the reader.
    st.text("0123456789-:.,TtZz+ \n\u0663", min_size=15, max_size=32),
)


@given(_STAMPS)
@example("0000-02-29T00:00Z")  # year 0000 is a leap year (RFC 3339 appendix C)
@example("0000-01-01T00:00:00+00:01")  # before day 0 of the count
@example("9999-12-31T23:59:59.999999999999-23:59")  # after 9999 in UTC
@example("1998-12-31T23:59:60Z")  # a leap second...
@example("1998-12-31T15:59:60-08:00")  # ...written in another offset
@example("1998-12-31T23:59:60+01:00")  # 22:59:60 UTC: no leap second
@example("2023-11-07T05:31:56.10000000000000000001Z")
@example("2023-11-07T05:31:5Z")
@example("2023-11-07T05:31:56+24:00")  # offsets stop at 23:59 (time-numoffset)
@example("2023-11-07T05:31:56-00:60")
def test_integer_arithmetic_agrees_with_the_fraction_reference(stamp):
    assert _exact(instant_of(stamp)) == _reference(stamp, seconds_optional=True)
    assert is_rfc3339_datetime(stamp) is (_reference(stamp, seconds_optional=False) is not None)


@st.composite
def _one_minute(draw, head):
    # Within one minute, fractions of few distinct digits: one instant written
    # two ways ("...:05.5Z", "...:05.50Z"), prefixes ("5" and "55"), neighbours.
    seconds = draw(st.sampled_from(["", ":00", ":05", ":59"]))
    digits = draw(st.text("059", max_size=4)) if seconds else ""
    zone = draw(st.sampled_from(["Z", "+00:00", "-00:00"]))
    return head + seconds + (f".{digits}" if digits else "") + zone


@given(st.data(), valid_timestamps(max_fraction_digits=0))
def test_instants_order_as_the_fraction_reference_does(data, stamp):
    first, second = data.draw(_one_minute(stamp[:16])), data.draw(_one_minute(stamp[:16]))
    a, b = instant_of(first), instant_of(second)
    ra, rb = _reference(first, seconds_optional=True), _reference(second, seconds_optional=True)
    assert (a < b, a == b, a > b) == (ra < rb, ra == rb, ra > rb)


@given(st.lists(st.one_of(valid_timestamps(), _rfc3339_forms()), min_size=2, max_size=6))
def test_sorting_by_instant_sorts_by_exact_time(stamps):
    valid = [s for s in stamps if instant_of(s) is not None]
    by_instant = sorted(valid, key=instant_of)
    assert [_reference(s, seconds_optional=True) for s in by_instant] == sorted(
        _reference(s, seconds_optional=True) for s in valid
    )
