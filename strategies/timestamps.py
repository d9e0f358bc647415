"""Hypothesis strategies for the doc's date-time pattern: valid timestamps and labelled invalid ones.

The doc's pattern is stricter than RFC 3339 in some ways (only ``Z``, upper-case
``T``, no leap second) and looser in one (seconds may be omitted); see
spec/README.md. Valid here means "matches the doc's pattern". Each invalid
value is labelled with the requirements it breaks: ``body.datetime`` always,
and ``body.datetime-rfc3339`` too unless RFC 3339 accepts it (offsets,
lower-case ``t``/``z``, a leap second at 23:59:60).

The leap-year rule below is written out again on purpose, apart from the
oracle's: a generator and a judge that shared one rule would share its bugs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jobs_conformance.strategies._labels import Invalid

__all__ = [
    "CENTURY_BOUNDARIES",
    "EDGE_TIMES",
    "INVALID_TIMESTAMP_CLASSES",
    "LEAP_DAYS",
    "NON_LEAP_FEB_29",
    "drop_seconds",
    "invalid_timestamps",
    "timestamp_sort_key",
    "valid_timestamps",
]

# RFC 3339 appendix C (Gregorian rule): divisible by 4, except centuries,
# except multiples of 400. Year 0000 is a multiple of 400, hence leap.
LEAP_DAYS: tuple[str, ...] = (
    "0000-02-29",
    "0004-02-29",
    "0400-02-29",
    "1600-02-29",
    "2000-02-29",
    "2024-02-29",
    "2028-02-29",
    "2400-02-29",
    "9996-02-29",
)
# Centuries not divisible by 400 have no Feb 29 (RFC 3339 appendix C).
NON_LEAP_FEB_29: tuple[str, ...] = (
    "1900-02-29",
    "2100-02-29",
    "2023-02-29",
    "0100-02-29",
    "0001-02-29",
)
CENTURY_BOUNDARIES: tuple[str, ...] = (
    "1900-02-28",
    "1900-03-01",
    "2100-02-28",
    "2100-03-01",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "1999-12-31",
    "2000-01-01",
)
MONTH_ENDS: tuple[str, ...] = (
    "2023-01-31",
    "2023-04-30",
    "2023-06-30",
    "2023-09-30",
    "2023-11-30",
    "2023-12-31",
)
EDGE_TIMES: tuple[str, ...] = ("00:00:00", "23:59:59", "00:00", "23:59", "12:00:00.000000000")
_EDGE_CHANCE = 5  # one draw in five takes its date from the edge tuples above


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_length(year: int, month: int) -> int:
    return (31, 29 if _is_leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def _check_year_range(min_year: int, max_year: int) -> None:
    for name, value in (("min_year", min_year), ("max_year", max_year)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 9999:
            raise InvalidArgument(f"{name}={value!r} must be an integer 0-9999 (four-digit years)")
    if min_year > max_year:
        raise InvalidArgument(f"min_year={min_year} must not exceed max_year={max_year}")


@st.composite
def _date(draw: st.DrawFn, min_year: int, max_year: int) -> str:
    edges = [
        d
        for d in (*LEAP_DAYS, *CENTURY_BOUNDARIES, *MONTH_ENDS)
        if min_year <= int(d[:4]) <= max_year
    ]
    if edges and draw(st.integers(0, _EDGE_CHANCE - 1)) == _EDGE_CHANCE - 1:
        return draw(st.sampled_from(edges))
    year = draw(st.integers(min_year, max_year))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, _month_length(year, month)))
    return f"{year:04d}-{month:02d}-{day:02d}"


@st.composite
def _time(draw: st.DrawFn, allow_missing_seconds: bool, max_fraction_digits: int) -> str:
    hour = draw(st.integers(0, 23))
    minute = draw(st.integers(0, 59))
    if allow_missing_seconds and draw(st.booleans()):
        return f"{hour:02d}:{minute:02d}"
    second = draw(st.integers(0, 59))
    digits = draw(st.integers(0, max_fraction_digits)) if max_fraction_digits else 0
    fraction = f"{draw(st.integers(0, 10**digits - 1)):0{digits}d}" if digits else ""
    return f"{hour:02d}:{minute:02d}:{second:02d}" + (f".{fraction}" if fraction else "")


def valid_timestamps(
    *,
    min_year: int = 0,
    max_year: int = 9999,
    allow_missing_seconds: bool = True,
    max_fraction_digits: int = 30,
) -> st.SearchStrategy[str]:
    """Timestamps that match the doc's date-time pattern.

    Years run from ``min_year`` to ``max_year`` (0-9999, four digits); every
    date is a real Gregorian date. One draw in five takes its date from the
    edge tuples (leap days of 0000, 2000, 2400; Feb 28 / Mar 1 of 1900 and
    2100; month ends; 0000-01-01, 9999-12-31). Seconds are omitted when
    ``allow_missing_seconds`` (the pattern allows it, RFC 3339 does not); a
    fraction has 1 to ``max_fraction_digits`` digits. Shrinks toward
    ``{min_year}-01-01T00:00:00Z``.
    """
    _check_year_range(min_year, max_year)
    if not isinstance(allow_missing_seconds, bool):
        raise InvalidArgument(f"allow_missing_seconds={allow_missing_seconds!r} must be a bool")
    if not isinstance(max_fraction_digits, int) or not 0 <= max_fraction_digits <= 1000:
        raise InvalidArgument(
            f"max_fraction_digits={max_fraction_digits!r} must be an integer 0-1000"
        )
    date = _date(min_year, max_year)
    time = _time(allow_missing_seconds, max_fraction_digits)
    return st.tuples(date, time).map(lambda parts: f"{parts[0]}T{parts[1]}Z")


def timestamp_sort_key(value: str) -> tuple[str, int, str]:
    """A key that orders valid pattern timestamps by the instant they denote."""
    seconds = int(value[17:19]) if value[16:17] == ":" else 0
    fraction = value[20:-1] if value[19:20] == "." else ""
    # Fractions compare as digit strings once padded to one length; "" pads to "0...".
    return (value[:16], seconds, fraction.ljust(1000, "0"))


def drop_seconds(value: str) -> str:
    """``value`` without its seconds and fraction: the form the pattern allows and RFC 3339 does not."""
    return value[:16] + "Z"


# --- Invalid timestamps. Builders take a valid timestamp with seconds.

_BOTH = frozenset({"body.datetime", "body.datetime-rfc3339"})
_PATTERN_ONLY = frozenset({"body.datetime"})
_PAST_MONTH_END = (
    "2024-02-30",
    "2023-04-31",
    "2023-06-31",
    "2023-09-31",
    "2023-11-31",
    "2000-02-30",
)
# RFC 3339 section 5.7: second 60 exists only as the last second of 23:59 UTC.
_NOT_LEAP_SECONDS = ("00:00:60", "12:30:60", "23:58:60")
_NON_ASCII_DIGITS = (
    "\u0660",
    "\u09ea",
    "\uff11",
    "\u0e53",
)  # Arabic-Indic, Bengali, fullwidth, Thai


def _replace_date(value: str, date: str) -> str:
    return date + value[10:]


def _replace_time(value: str, time: str) -> str:
    return value[:11] + time + "Z"


_Builder = Callable[[st.DrawFn, str], str]

_CLASSES: dict[str, tuple[frozenset[str], _Builder]] = {
    "feb-29-non-leap": (_BOTH, lambda d, v: _replace_date(v, d(st.sampled_from(NON_LEAP_FEB_29)))),
    "day-past-month-end": (
        _BOTH,
        lambda d, v: _replace_date(v, d(st.sampled_from(_PAST_MONTH_END))),
    ),
    "month-00": (_BOTH, lambda d, v: v[:5] + "00" + v[7:]),
    "month-13": (_BOTH, lambda d, v: v[:5] + "13" + v[7:]),
    "day-00": (_BOTH, lambda d, v: v[:8] + "00" + v[10:]),
    "hour-24": (_BOTH, lambda d, v: v[:11] + "24" + v[13:]),
    "minute-60": (_BOTH, lambda d, v: v[:14] + "60" + v[16:]),
    "second-60-not-leap": (
        _BOTH,
        lambda d, v: _replace_time(v, d(st.sampled_from(_NOT_LEAP_SECONDS))),
    ),
    # RFC 3339 section 5.7 allows 23:59:60Z; the doc's pattern does not.
    "leap-second": (_PATTERN_ONLY, lambda d, v: _replace_time(v, "23:59:60")),
    "offset": (
        _PATTERN_ONLY,
        lambda d, v: v[:-1] + d(st.sampled_from(("+00:00", "-00:00", "+05:30", "-08:00"))),
    ),
    "lowercase-t": (_PATTERN_ONLY, lambda d, v: v[:10] + "t" + v[11:]),
    "lowercase-z": (_PATTERN_ONLY, lambda d, v: v[:-1] + "z"),
    "space-separator": (_BOTH, lambda d, v: v[:10] + " " + v[11:]),
    "missing-zone": (_BOTH, lambda d, v: v[:-1]),
    "date-only": (_BOTH, lambda d, v: v[:10]),
    "fraction-without-seconds": (_BOTH, lambda d, v: v[:16] + ".5Z"),
    "comma-decimal": (_BOTH, lambda d, v: v[:19] + ",5Z"),
    "non-ascii-digit": (_BOTH, lambda d, v: v[:2] + d(st.sampled_from(_NON_ASCII_DIGITS)) + v[3:]),
    "five-digit-year": (_BOTH, lambda d, v: "1" + v),
    "unpadded-year": (_BOTH, lambda d, v: str(int(v[:4]) % 1000) + v[4:]),
    "one-digit-hour": (_BOTH, lambda d, v: v[:11] + "5" + v[13:]),
    "trailing-newline": (_BOTH, lambda d, v: v + "\n"),
    "leading-whitespace": (_BOTH, lambda d, v: " " + v),
}

INVALID_TIMESTAMP_CLASSES: tuple[str, ...] = tuple(_CLASSES)


def invalid_timestamps(*, classes: Sequence[str] | None = None) -> st.SearchStrategy[Invalid]:
    """Timestamps the doc's pattern rejects, each labelled with its class and the requirements it breaks.

    ``classes`` limits the draw to names from :data:`INVALID_TIMESTAMP_CLASSES`
    (every class equally likely). Each value is built from one valid
    timestamp with seconds, so it differs from a valid one only in the way its
    class names; failures shrink toward the first class.
    """
    if classes is None:
        chosen = INVALID_TIMESTAMP_CLASSES
    else:
        chosen = tuple(classes)
        unknown = [c for c in chosen if c not in _CLASSES]
        if not chosen or unknown:
            raise InvalidArgument(
                f"classes={classes!r}: unknown {unknown}; choose from {list(_CLASSES)}"
            )

    @st.composite
    def build(draw: st.DrawFn) -> Invalid:
        name = draw(st.sampled_from(chosen))
        base = draw(
            valid_timestamps(min_year=100, allow_missing_seconds=False, max_fraction_digits=9)
        )
        violates, builder = _CLASSES[name]
        return Invalid(builder(draw, base), name, violates)

    return build()
