"""`pytest -p jobs_conformance -n 2` (pytest-xdist) gives the same verdict as a serial run, in one merged report.

One faulty target shows both halves of the merge: requirements that pass
and requirements that fail. How a worker's data is carried and merged is
tested without processes in tests/harness/test_session.py.
"""

from __future__ import annotations

from tests_support import run_in_process

from jobs_conformance.reference.server import ReferenceServer

pytest_plugins = ["pytester"]


def _rows(report) -> dict[str, tuple[str, int]]:
    return {row["id"]: (row["status"], row["checked"] > 0) for row in report["requirements"]}


def test_xdist_and_serial_runs_agree(pytester):
    with ReferenceServer(faults=["ts-offset", "python-dollar"]) as server:
        ids = pytester.path / "ids.txt"
        ids.write_text("\n".join(server.job_ids()))
        args = ["--base-url", server.base_url, "--conformance-job-ids-file", str(ids)]
        serial_code, serial, serial_output = run_in_process(
            pytester, *args, report_dir=pytester.path / "serial"
        )
        parallel_code, parallel, parallel_output = run_in_process(
            pytester, *args, "-n", "2", report_dir=pytester.path / "parallel"
        )
    assert serial_code == parallel_code == 1, serial_output + parallel_output
    assert serial["verdict"] == parallel["verdict"] == "fail"
    assert _rows(serial) == _rows(parallel)
    assert {"pass", "fail"} <= {status for status, _ in _rows(parallel).values()}
    assert "bringing up nodes" in parallel_output  # it did run under pytest-xdist
    assert parallel["requests_sent"] > 0
