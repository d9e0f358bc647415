"""Errors that mean "no verdict": misuse of the suite, never a finding.

A :class:`~jobs_conformance.oracle.Violation` says the *target* is wrong. An
exception from here says the suite could not judge: a bad option, an
unreadable spec, an unreachable target. The two map to different exit codes.
"""

from __future__ import annotations

import enum

__all__ = [
    "ExitCode",
    "NoHeldJobFound",
    "SuiteError",
    "TargetUnreachable",
    "UsageError",
    "WrongVersion",
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
