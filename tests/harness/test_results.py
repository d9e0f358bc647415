"""Per-requirement results: what is checked, what failed, and which counterexample is kept."""

from __future__ import annotations

from tests_support import unknown_id_exchange

from jobs_conformance.contract import load_contract
from jobs_conformance.oracle import judge
from jobs_conformance.results import MAX_COUNTEREXAMPLES, Results

CONTRACT = load_contract()


def _observe(results: Results, exchange, test: str = "t") -> None:
    results.observe(exchange, judge(exchange, CONTRACT), test=test)


def test_every_requirement_starts_not_checked():
    results = Results(CONTRACT)
    assert [r.requirement.id for r in results.rows()] == [r.id for r in CONTRACT.requirements]
    assert {r.status for r in results.rows()} == {"not-checked"}


def test_an_applicable_requirement_is_checked_and_passes():
    results = Results(CONTRACT)
    _observe(results, unknown_id_exchange(404))
    results.finish_test("t")
    row = results.requirements["http.unknown-404"]
    assert (row.status, row.checked, row.failures) == ("pass", 1, 0)
    assert results.requirements["body.json"].status == "not-checked"


def test_a_violation_counts_only_when_its_test_finishes():
    results = Results(CONTRACT)
    _observe(results, unknown_id_exchange(500))
    row = results.requirements["http.unknown-404"]
    assert row.status == "pass"  # pending: Hypothesis may still be shrinking
    results.finish_test("other test")
    assert row.failures == 0
    results.finish_test("t")
    assert row.status == "fail" and row.failures == 1


def test_the_last_failing_exchange_of_a_test_is_its_counterexample():
    # Hypothesis replays the shrunk example last.
    results = Results(CONTRACT)
    for status in (500, 503, 418):
        _observe(results, unknown_id_exchange(status))
    results.finish_test("t")
    (example,) = results.requirements["http.unknown-404"].counterexamples
    assert example.response["status"] == 418 and example.test == "t"


def test_counterexamples_are_capped_and_not_repeated():
    results = Results(CONTRACT)
    for n in range(MAX_COUNTEREXAMPLES + 3):
        _observe(results, unknown_id_exchange(500), test=f"same message {n}")
        results.finish_test(f"same message {n}")
    row = results.requirements["http.unknown-404"]
    assert row.failures == MAX_COUNTEREXAMPLES + 3
    assert len(row.counterexamples) == 1
    for status in range(500, 500 + MAX_COUNTEREXAMPLES + 3):
        _observe(results, unknown_id_exchange(status), test=str(status))
        results.finish_test(str(status))
    assert len(row.counterexamples) == MAX_COUNTEREXAMPLES


def test_failing_honours_strict_for_should_requirements():
    results = Results(CONTRACT)
    should = next(r for r in CONTRACT.requirements if r.severity == "should")
    results.requirements[should.id].failures = 1
    assert results.failing(strict=False) == []
    assert [r.requirement.id for r in results.failing(strict=True)] == [should.id]


def test_to_data_and_merge_add_up():
    one, two, total = Results(CONTRACT), Results(CONTRACT), Results(CONTRACT)
    for results, status in ((one, 404), (two, 500)):
        _observe(results, unknown_id_exchange(status))
        results.finish_test("t")
    one.error("worker 1: timeout")
    total.merge(one.to_data())
    total.merge(two.to_data())
    row = total.requirements["http.unknown-404"]
    assert (row.checked, row.failures, len(row.counterexamples)) == (2, 1, 1)
    assert total.errors == ["worker 1: timeout"]
