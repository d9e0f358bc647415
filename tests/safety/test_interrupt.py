"""Ctrl-C during a run stops it within seconds and keeps everything checked so far."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from tests_support import as_at_a_terminal

from jobs_conformance.invocation import command_line
from jobs_conformance.reference.server import ReferenceServer


def test_sigint_writes_an_incomplete_report_and_exits_2(tmp_path):
    report_dir = tmp_path / "r"
    # 500 ms a response: the run takes well over the few seconds before Ctrl-C.
    with ReferenceServer(latency_ms=500, threads=16) as server:
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(server.job_ids()))
        process = subprocess.Popen(
            command_line(
                "run",
                "--base-url",
                server.base_url,
                "--job-ids-file",
                str(ids),
                "--report-dir",
                str(report_dir),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=as_at_a_terminal,
        )
        time.sleep(4)
        assert process.poll() is None, "the run finished before it could be interrupted"
        interrupted_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        stopped_after = time.monotonic() - interrupted_at
    assert process.returncode == 2, out[-2000:] + err[-2000:]
    assert stopped_after < 10, stopped_after
    report = json.loads((report_dir / "conformance.json").read_text())
    assert report["verdict"] == "incomplete"
    assert sum(row["checked"] for row in report["requirements"]) > 0
    assert any("interrupted" in note for note in report["notes"])
    assert "Traceback" not in err
    assert not list(report_dir.glob(".*.tmp"))
