"""A contract test's exception means one outcome: a verdict, no verdict, or a spent budget."""

from __future__ import annotations

import pytest
from hypothesis.errors import FlakyFailure

from jobs_conformance.client import BudgetExhausted, TransportFailure
from jobs_conformance.errors import SuiteError, TargetUnreachable, UsageError
from jobs_conformance.exchange import HttpRequest
from jobs_conformance.outcomes import Kind, classify, is_verdict

REQUEST = HttpRequest("GET", "http://127.0.0.1:1/api/v2/jobs/x")


def _grouped(*exceptions: Exception) -> BaseException:
    """What Hypothesis raises when an example fails differently on replay."""
    return FlakyFailure("flaky", list(exceptions))


CASES = [
    (AssertionError("body.uuid: bad"), Kind.VIOLATION),
    (_grouped(AssertionError("a"), AssertionError("b")), Kind.VIOLATION),
    (BudgetExhausted("budget of 10 spent"), Kind.BUDGET_SPENT),
    (_grouped(AssertionError("a"), BudgetExhausted("spent")), Kind.BUDGET_SPENT),
    (TargetUnreachable("cannot connect"), Kind.UNREACHABLE),
    (_grouped(TargetUnreachable("gone")), Kind.UNREACHABLE),
    (TransportFailure(REQUEST, "no response within 10 s"), Kind.TRANSPORT),
    (UsageError("--timeout", "x", "a number"), Kind.SUITE_ERROR),
    (SuiteError("spec unreadable"), Kind.SUITE_ERROR),
    (KeyError("createdAt"), Kind.CRASH),
    (_grouped(AssertionError("a"), KeyError("b")), Kind.CRASH),
]


@pytest.mark.parametrize(("exc", "kind"), CASES, ids=lambda v: getattr(v, "value", None))
def test_each_exception_is_classified_as_its_outcome(exc, kind):
    assert classify(exc).kind is kind


def test_the_message_says_what_happened():
    assert classify(BudgetExhausted("budget of 10 spent")).message == "budget of 10 spent"
    transport = classify(TransportFailure(REQUEST, "connection reset"))
    assert "connection reset" in transport.message and REQUEST.url in transport.message
    assert classify(KeyError("createdAt")).message.startswith("KeyError")


def test_only_assertions_are_verdicts():
    assert is_verdict(AssertionError())
    assert not is_verdict(ValueError())
    assert not is_verdict(_grouped(AssertionError(), ValueError()))
    assert not is_verdict(FlakyFailure("empty", [ValueError()]))
