"""A target that accepts connections and never answers ends the run in bounded time."""

from __future__ import annotations

import time

from hostile import HostileServer, json_400, json_404
from tests_support import run_cli_in_process

from .conftest import HELD, is_held, is_malformed

pytest_plugins = ["pytester"]


def _never_answer(seen, connection):
    time.sleep(60)


def test_a_silent_target_ends_the_run_with_exit_2_and_a_report(pytester, tmp_path):
    with HostileServer(_never_answer) as server:
        started = time.monotonic()
        code, report, out, err = run_cli_in_process(
            pytester, "--base-url", server.base_url, "--timeout", "1", report_dir=tmp_path / "r"
        )
        elapsed = time.monotonic() - started
    assert code == 2, out + err
    assert elapsed < 20, elapsed
    assert report["verdict"] == "incomplete"
    assert any("did not answer" in e for e in report["errors"])
    assert "Traceback" not in out + err


def _silent_for_the_held_job(seen, connection):
    if is_held(seen):
        time.sleep(60)
    elif is_malformed(seen):
        json_400(seen, connection)
    else:
        json_404(seen, connection)


def test_a_target_silent_on_one_path_still_ends_in_bounded_time_with_a_report(pytester, tmp_path):
    with HostileServer(_silent_for_the_held_job) as server:
        started = time.monotonic()
        code, report, out, err = run_cli_in_process(
            pytester,
            "--base-url",
            server.base_url,
            "--job-id",
            HELD,
            "--timeout",
            "1",
            report_dir=tmp_path / "r",
        )
        elapsed = time.monotonic() - started
    assert code in (1, 2), out + err
    assert elapsed < 60, elapsed
    assert report is not None and report["verdict"] in ("fail", "incomplete")
    assert "Traceback" not in out + err
