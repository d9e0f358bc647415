"""Calendar arithmetic and RFC 3339 parsing, independent of the doc's pattern.

Python's ``datetime`` cannot represent year 0000, which the doc's pattern
accepts (and which is a leap year in the proleptic Gregorian calendar, RFC
3339 appendix C), nor leap seconds. So instants are computed here from
first principles: a day number and an exact fraction of the day's seconds.

This module is the oracle's second opinion: ``body.datetime`` is judged by the
doc's pattern, while ``body.datetime-rfc3339``, ``body.timeline`` and
``seed.round-trip`` are judged by this code, and the tests hold the two
against each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "Instant",
    "days_in_month",
    "instant_of",
    "is_leap_year",
    "is_rfc3339_datetime",
]

_DIGITS = frozenset("0123456789")


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


@dataclass(frozen=True, order=True)
class Instant:
    """A point in UTC time: a day number and the exact second within that day.

    A leap second (``23:59:60``) is second 86400 of its day, so it orders
    after 23:59:59.x and before the next day's midnight.
    """

    day: int
    second: Fraction


@dataclass(frozen=True)
class _Parts:
    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int | None
    fraction: str
    offset_minutes: int


def _number(text: str) -> int | None:
    # str.isdigit() and int() accept non-ASCII digits; RFC 3339's DIGIT is ASCII.
    return int(text) if text and set(text) <= _DIGITS else None


def _split(text: str, *, seconds_optional: bool) -> _Parts | None:
    # RFC 3339 section 5.6:
    #   date-fullyear "-" date-month "-" date-mday "T" time-hour ":" time-minute
    #   ":" time-second [time-secfrac] time-offset
    if (
        len(text) < 17
        or text[4] != "-"
        or text[7] != "-"
        or text[10] not in "Tt"
        or text[13] != ":"
    ):
        return None
    year, month, day = _number(text[0:4]), _number(text[5:7]), _number(text[8:10])
    hour, minute = _number(text[11:13]), _number(text[14:16])
    if None in (year, month, day, hour, minute):
        return None
    rest = text[16:]
    second: int | None = None
    fraction = ""
    if rest.startswith(":"):
        second = _number(rest[1:3])
        if second is None or len(rest) < 3:
            return None
        rest = rest[3:]
        if rest.startswith("."):
            end = 1
            while end < len(rest) and rest[end] in _DIGITS:
                end += 1
            fraction = rest[1:end]
            if not fraction:
                return None
            rest = rest[end:]
    elif not seconds_optional:
        return None
    offset = _offset_minutes(rest)
    if offset is None:
        return None
    return _Parts(year, month, day, hour, minute, second, fraction, offset)  # type: ignore[arg-type]


def _offset_minutes(text: str) -> int | None:
    if text in ("Z", "z"):
        return 0
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    hours, minutes = _number(text[1:3]), _number(text[4:6])
    if hours is None or minutes is None or hours > 23 or minutes > 59:
        return None
    sign = -1 if text[0] == "-" else 1
    return sign * (hours * 60 + minutes)


def _instant(parts: _Parts) -> Instant | None:
    if not 1 <= parts.month <= 12 or not 1 <= parts.day <= days_in_month(parts.year, parts.month):
        return None
    second = 0 if parts.second is None else parts.second
    if parts.hour > 23 or parts.minute > 59 or second > 60:
        return None
    local = parts.hour * 3600 + parts.minute * 60 - parts.offset_minutes * 60
    day = _day_number(parts.year, parts.month, parts.day)
    day += local // 86400
    local %= 86400
    if second == 60 and local != 86340:
        # RFC 3339 section 5.7: a leap second is the 61st second of 23:59 UTC.
        return None
    exact = Fraction(local + second) + (
        Fraction(int(parts.fraction), 10 ** len(parts.fraction)) if parts.fraction else 0
    )
    return Instant(day, exact)


def is_rfc3339_datetime(text: str) -> bool:
    """Whether ``text`` is an RFC 3339 ``date-time`` (seconds required, offsets allowed)."""
    parts = _split(text, seconds_optional=False)
    return parts is not None and _instant(parts) is not None


def instant_of(text: str) -> Instant | None:
    """The instant a timestamp denotes, or None when it is not a valid timestamp.

    Accepts RFC 3339 date-times and the doc pattern's extension of them
    (seconds may be omitted), so two representations of one moment, such as
    ``...T05:31Z`` and ``...T05:31:00.000+00:00``, give the same instant.
    """
    parts = _split(text, seconds_optional=True)
    return None if parts is None else _instant(parts)
