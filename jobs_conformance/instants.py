"""Calendar arithmetic and RFC 3339 parsing, independent of the doc's pattern.

Python's ``datetime`` cannot represent year 0000, which the doc's pattern
accepts (and which is a leap year in the proleptic Gregorian calendar, RFC
3339 appendix C), nor leap seconds. So instants are computed here from
first principles: a day number, the whole second within the day, and the
decimal fraction's digits, exact at any length.

This module is the oracle's second opinion: ``body.datetime`` is judged by the
doc's pattern, while ``body.datetime-rfc3339``, ``body.timeline`` and
``seed.round-trip`` are judged by this code, and the tests hold the two
against each other.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

__all__ = [
    "Instant",
    "days_in_month",
    "instant_of",
    "is_leap_year",
    "is_rfc3339_datetime",
    "read_timestamp",
]


def is_leap_year(year: int) -> bool:
    """Gregorian rule of RFC 3339 appendix C, proleptic (so year 0 is leap)."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    """Length of ``month`` (1-12) in ``year``."""
    if month == 2:
        return 29 if is_leap_year(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _day_number(year: int, month: int, day: int) -> int:
    # Days since 0000-03-01: counting years from March puts the leap day last,
    # so each 400-year era has the same 146097 days.
    y = year - 1 if month <= 2 else year
    era, year_of_era = divmod(y, 400)
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era


class Instant(NamedTuple):
    """A point in UTC time: a day number, the whole second within that day, and its fraction.

    ``fraction`` is the decimal digits after the point without trailing
    zeros, so one instant has one value whatever its representation, and
    tuples order as instants do: compared digit by digit, such strings order
    as the fractions 0.ddd do (a prefix, "5", sorts before its extensions,
    "51"), at any length and without arithmetic.
    A leap second (``23:59:60``) is second 86400 of its day, so it orders
    after 23:59:59.x and before the next day's midnight.
    """

    day: int
    second: int
    fraction: str = ""


def _instant(fields: tuple[int, int, str]) -> Instant:
    """An :class:`Instant` of its three fields, without the Python-level ``__new__`` a
    NamedTuple adds: every timestamp of every body judged builds one."""
    return tuple.__new__(Instant, fields)  # type: ignore[no-any-return]


# RFC 3339 section 5.6, with time-second optional (the doc pattern's extension):
#   date-fullyear "-" date-month "-" date-mday "T" time-hour ":" time-minute
#   [":" time-second [time-secfrac]] time-offset
# [0-9], not \d: RFC 3339's DIGIT is ASCII, and Python's \d is not. Matched
# whole (fullmatch), as "$" would also accept a final newline.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]+))?)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)


# A table, not int(): five times cheaper for a two-digit field, of which a
# timestamp has up to seven.
_TWO_DIGITS = {f"{n:02d}": n for n in range(100)}


# A job's timestamps are read by several checks (RFC 3339's, the timeline's,
# the seeded value's): read each text once. Bounded, as traffic holds
# unboundedly many distinct timestamps.
@functools.lru_cache(maxsize=4096)
def read_timestamp(text: str) -> tuple[Instant | None, bool]:
    """``(instant, rfc3339)``: the instant ``text`` denotes (see :func:`instant_of`) and
    whether it is an RFC 3339 ``date-time`` (see :func:`is_rfc3339_datetime`)."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None, False
    y, mo, d, h, mi, s, fraction, sign, offset_h, offset_m = match.groups()
    year, month, day = int(y), _TWO_DIGITS[mo], _TWO_DIGITS[d]
    hour, minute, second = _TWO_DIGITS[h], _TWO_DIGITS[mi], 0 if s is None else _TWO_DIGITS[s]
    # Every month has day 28: only a later day asks the calendar.
    if not 1 <= month <= 12 or day < 1 or (day > 28 and day > days_in_month(year, month)):
        return None, False
    if hour > 23 or minute > 59 or second > 60:
        return None, False
    local = hour * 3600 + minute * 60
    if sign is not None:
        # time-numoffset: time-hour ":" time-minute, so at most 23:59.
        hours, minutes = _TWO_DIGITS[offset_h], _TWO_DIGITS[offset_m]
        if hours > 23 or minutes > 59:
            return None, False
        local += (-60 if sign == "+" else 60) * (hours * 60 + minutes)
    days, local = divmod(local, 86400)
    if second == 60 and local != 86340:
        # RFC 3339 section 5.7: a leap second is the 61st second of 23:59 UTC.
        return None, False
    instant = _instant(
        (
            _day_number(year, month, day) + days,
            local + second,
            fraction.rstrip("0") if fraction else "",
        )
    )
    # A timestamp without seconds is the pattern's, not RFC 3339's.
    return instant, s is not None


def is_rfc3339_datetime(text: str) -> bool:
    """Whether ``text`` is an RFC 3339 ``date-time`` (seconds required, offsets allowed)."""
    return read_timestamp(text)[1]


def instant_of(text: str) -> Instant | None:
    """The instant a timestamp denotes, or None when it is not a valid timestamp.

    Accepts RFC 3339 date-times and the doc pattern's extension of them
    (seconds may be omitted), so two representations of one moment, such as
    ``...T05:31Z`` and ``...T05:31:00.000+00:00``, give the same instant.
    """
    return read_timestamp(text)[0]
