"""The run, without pytest: outcomes, the record, pytest-xdist's hand-over, the preflight."""

from __future__ import annotations

import pytest
from tests_support import closed_port, statuses, unknown_id_exchange

from jobs_conformance.client import BudgetExhausted
from jobs_conformance.errors import TargetUnreachable
from jobs_conformance.outcomes import Kind, Outcome, classify
from jobs_conformance.reference.server import ReferenceServer
from jobs_conformance.session import ConformanceSession, not_checked_reason
from jobs_conformance.settings import resolve

TARGET = "http://127.0.0.1:9/api/v2"  # never contacted unless a test starts the session


def _session(tmp_path, **given) -> ConformanceSession:
    settings = resolve({"base_url": TARGET, "report_dir": str(tmp_path / "r"), **given}, environ={})
    return ConformanceSession(settings)


def _judged(session: ConformanceSession, test: str, *statuses: int) -> None:
    """``test`` judged unknown-id answers of ``statuses`` and ended as a pytest test would."""
    session.recorder.start(test)
    failed = False
    for status in statuses:
        failed |= bool(session.recorder.record(unknown_id_exchange(status)))
    session.file_outcome(
        test,
        "failed" if failed else "passed",
        0.1,
        ("http.unknown-404",),
        "AssertionError" if failed else "",
        Outcome(Kind.VIOLATION, "http.unknown-404") if failed else None,
    )


@pytest.mark.parametrize(
    ("kind", "reported", "error_recorded"),
    [
        (Kind.VIOLATION, "failed", False),
        (Kind.BUDGET_SPENT, "skipped", False),
        (Kind.UNREACHABLE, "error", True),
        (Kind.TRANSPORT, "error", True),
        (Kind.SUITE_ERROR, "error", True),
        (Kind.CRASH, "error", True),
    ],
)
def test_file_outcome_reports_each_kind(tmp_path, kind, reported, error_recorded):
    session = _session(tmp_path)
    outcome = session.file_outcome(
        "contract/t.py::t", "failed", 0.1, ("http.unknown-404",), "m", Outcome(kind, "why")
    )
    assert outcome == reported
    assert session.outcomes[-1].outcome == reported
    assert bool(session.results.errors) is error_recorded
    assert session.state.budget_spent is (kind is Kind.BUDGET_SPENT)
    assert (session.state.unreachable == "why") is (kind is Kind.UNREACHABLE)


def test_a_spent_budget_skips_the_test_and_explains_the_not_checked(tmp_path):
    session = _session(tmp_path, max_requests="5")
    outcome = session.file_outcome(
        "t", "failed", 0.1, (), "", classify(BudgetExhausted("budget of 5 spent"))
    )
    assert outcome == "skipped" and session.outcomes[-1].message == "budget of 5 spent"
    report = session.finish(interrupted=False, seed="derandomized")
    reasons = {row["reason"] for row in report["requirements"] if row["status"] == "not-checked"}
    assert reasons == {"request budget of 5 spent before it was checked"}
    assert any("--max-requests 5" in note for note in report["notes"])


def test_a_setup_failure_is_an_error_and_the_verdict_is_not_pass(tmp_path):
    session = _session(tmp_path)
    _judged(session, "conforming", 404)
    # What the plugin files for a fixture that raised: a crash, never a verdict.
    session.file_outcome("broken", "failed", 0.0, (), "KeyError", Outcome(Kind.CRASH, "KeyError"))
    report = session.finish(interrupted=False, seed="derandomized")
    assert session.outcomes[-1].outcome == "error"
    assert report["verdict"] == "incomplete"
    assert (tmp_path / "r" / "conformance.json").is_file()


def test_worker_results_merged_equal_a_serial_runs(tmp_path):
    serial = _session(tmp_path / "serial")
    for test, answers in (("a", (404, 500)), ("b", (404,)), ("c", (503,))):
        _judged(serial, test, *answers)
    workers = [_session(tmp_path / "w1"), _session(tmp_path / "w2")]
    _judged(workers[0], "a", 404, 500)
    _judged(workers[1], "b", 404)
    _judged(workers[1], "c", 503)
    controller = _session(tmp_path / "controller")
    for worker in workers:
        controller.merge_worker(worker.worker_data())
    assert controller.results.to_data() == serial.results.to_data()
    assert sorted(controller.outcomes, key=repr) == sorted(serial.outcomes, key=repr)
    assert len(controller.state.targets) == 2
    assert controller.finish(interrupted=False, seed="s")["verdict"] == "fail"


def test_finish_gives_every_not_checked_requirement_its_reason(tmp_path):
    session = _session(tmp_path)
    _judged(session, "unknown ids", 404)
    report = session.finish(interrupted=False, seed="derandomized")
    rows = {row["id"]: row for row in report["requirements"]}
    assert (
        rows["http.unknown-404"]["status"] == "pass" and rows["http.unknown-404"]["reason"] is None
    )
    assert rows["body.json"]["reason"] == not_checked_reason("known-job")
    assert rows["auth.required"]["reason"] == not_checked_reason("credentials")
    assert rows["seed.round-trip"]["reason"] == not_checked_reason("seeding")
    assert "--job-id" in not_checked_reason("known-job")
    assert "--conformance-job-id" in not_checked_reason("known-job", lambda o: o.pytest_flag)
    assert any("No held job was read" in note for note in report["notes"])
    assert report["verdict"] == "pass"


def test_an_unreachable_target_leaves_no_verdict(tmp_path):
    session = _session(tmp_path)
    _judged(session, "unknown ids", 404)
    session.unreachable("cannot connect")
    report = session.finish(interrupted=False, seed="derandomized")
    assert report["verdict"] == "incomplete"
    # The reason once, among the errors; each row points there.
    assert report["errors"] == ["cannot connect"]
    assert {row["reason"] for row in report["requirements"] if row["reason"]} == {
        "no verdict: the run ended before it could be checked (see above)"
    }


def test_an_unwritable_report_dir_is_a_problem_not_a_crash(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    session = _session(tmp_path, report_dir=str(blocker / "r"))
    session.finish(interrupted=False, seed="derandomized")
    assert session.report_error and str(blocker) in session.report_error


def test_preflight_judges_one_unknown_id_against_a_live_target(tmp_path):
    with ReferenceServer() as server:
        session = _session(tmp_path, base_url=server.base_url)
        try:
            session.preflight()
        finally:
            session.stop()
    assert session.state.requests_sent == 1
    assert statuses(session.finish(interrupted=False, seed="s"))["http.unknown-404"] == "pass"


def test_preflight_against_nothing_listening_is_target_unreachable(tmp_path):
    session = _session(tmp_path, base_url=f"http://127.0.0.1:{closed_port()}/api/v2", timeout="2")
    with pytest.raises(TargetUnreachable, match=r"cannot connect to http://127\.0\.0\.1"):
        session.preflight()
    session.stop()


def test_an_embedded_run_holds_the_corpus_and_a_fresh_redacted_key(tmp_path):
    settings = resolve({"report_dir": str(tmp_path)}, environ={})
    one, two = ConformanceSession(settings), ConformanceSession(settings)
    assert one.embedded and one.known_ids and one.server is None
    key = one.headers["X-Api-Key"]
    assert key != two.headers["X-Api-Key"]
    assert key not in one.redactor.text(f"key {key}")
