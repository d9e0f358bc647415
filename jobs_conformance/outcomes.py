"""What a contract test's exception means for the run: a verdict, no verdict, or a spent budget.

A contract test fails with an AssertionError when the target broke a
requirement. Anything else is about the run, not the target: the request
budget ran out (what is left is not-checked), the target went away, a
request could not complete, the suite was misused, or the suite itself
crashed. Hypothesis wraps exceptions in its own groups; they are looked
through.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from jobs_conformance.client import BudgetExhausted, TransportFailure
from jobs_conformance.errors import SuiteError, TargetUnreachable

__all__ = ["Kind", "Outcome", "classify", "is_verdict"]


class Kind(enum.Enum):
    VIOLATION = "violation"  # a requirement failed: the test fails
    BUDGET_SPENT = "budget-spent"  # --max-requests reached: the test is skipped, not-checked
    UNREACHABLE = "unreachable"  # the target is gone: the run stops without a verdict
    TRANSPORT = "transport"  # one request failed: an error, no verdict on its requirements
    SUITE_ERROR = "suite-error"  # misuse or a suite error: an error
    CRASH = "crash"  # a bug in the suite: an error


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    message: str


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``exc``, or the first ``kind`` inside Hypothesis's flaky/group wrappers."""
    if isinstance(exc, kind):
        return exc
    for inner in getattr(exc, "exceptions", None) or ():
        found = _find(inner, kind)
        if found is not None:
            return found
    return None


def is_verdict(exc: BaseException) -> bool:
    """An assertion (a verdict on the target), possibly inside Hypothesis's flaky/group wrappers."""
    if isinstance(exc, AssertionError):
        return True
    group = getattr(exc, "exceptions", None)
    return isinstance(group, (list, tuple)) and bool(group) and all(is_verdict(e) for e in group)


def classify(exc: BaseException) -> Outcome:
    """What ``exc``, raised by a contract test, means for the run."""
    budget = _find(exc, BudgetExhausted)
    if budget is not None:
        return Outcome(Kind.BUDGET_SPENT, str(budget))
    unreachable = _find(exc, TargetUnreachable)
    if unreachable is not None:
        return Outcome(Kind.UNREACHABLE, str(unreachable))
    if isinstance(exc, TransportFailure):
        return Outcome(Kind.TRANSPORT, f"{exc.reason} ({exc.request.method} {exc.request.url})")
    if isinstance(exc, SuiteError):
        return Outcome(Kind.SUITE_ERROR, str(exc))
    if is_verdict(exc):
        return Outcome(Kind.VIOLATION, str(exc))
    return Outcome(Kind.CRASH, f"{type(exc).__name__}: {exc}")
