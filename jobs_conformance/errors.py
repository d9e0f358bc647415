"""Errors that mean "no verdict": misuse of the suite, never a finding.

A :class:`~jobs_conformance.oracle.Violation` says the *target* is wrong. An
exception from here says the suite could not judge: a bad option, an
unreadable spec, an unreachable target. The two map to different exit codes.
"""

from __future__ import annotations

import enum
import re
from typing import Any

__all__ = [
    "ExitCode",
    "NoHeldJobFound",
    "ReportsNotWritten",
    "SuiteError",
    "TargetUnreachable",
    "UsageError",
    "WrongVersion",
    "error_order",
]


class ExitCode(enum.IntEnum):
    """The process exit codes every command shares."""

    CONFORMING = 0
    VIOLATIONS = 1
    NO_VERDICT = 2
    USAGE = 4


class SuiteError(Exception):
    """Root of the suite's own errors; ``exit_code`` says how a command ends."""

    exit_code: ExitCode = ExitCode.NO_VERDICT


class UsageError(SuiteError):
    """A bad option, file or setting, named with its value and what would be valid."""

    exit_code = ExitCode.USAGE

    def __init__(self, argument: str, value: object, expected: str) -> None:
        shown = value if isinstance(value, str) else repr(value)
        super().__init__(f"{argument}: {shown!r} is not valid; expected {expected}")
        self.argument = argument
        self.value = value
        self.expected = expected


class ReportsNotWritten(SuiteError):
    """The reports of a finished command could not be written (a full disk, a folder it
    cannot write to): its verdict is shown, but no verdict reaches a gate that reads them."""

    exit_code = ExitCode.NO_VERDICT


class TargetUnreachable(SuiteError):
    """The target could not be reached at all, so no requirement could be judged."""

    exit_code = ExitCode.NO_VERDICT


class NoHeldJobFound(SuiteError):
    """None of the declared jobs was found in any form: a usage slip (a base URL, an id list), no verdict."""

    exit_code = ExitCode.NO_VERDICT


class WrongVersion(SuiteError):
    """The target named another version than ``--expect-version``: no verdict on it."""

    exit_code = ExitCode.NO_VERDICT


_NUMBERS = re.compile(r"(\d+)")


def error_order(message: str) -> tuple[Any, ...]:
    """The order errors are listed in: as text, but numbers by value, so ``file:9`` comes
    before ``file:10`` (a recording's first unreadable lines are the ones shown); a total
    order, so merged parts list them alike whatever their order."""
    # Split on a captured group: text at even places, digits at odd ones, so tuples compare.
    # A number by its length and digits, not int(): a hostile one may have any length.
    parts = _NUMBERS.split(message)
    key: list[Any] = [
        (len(p.lstrip("0")), p.lstrip("0")) if n % 2 else p for n, p in enumerate(parts)
    ]
    return (tuple(key), message)  # "007" and "7" tie as numbers, not as text
