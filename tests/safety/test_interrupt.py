"""Stopped from outside (Ctrl-C, CI cancelling the job, a closed terminal), a run ends within
seconds, keeps everything checked so far, and leaves no process or port behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tests_support import as_at_a_terminal, plugin_args

from jobs_conformance.invocation import command_line
from jobs_conformance.reference.server import ReferenceServer
from jobs_conformance.strategies.uuids import EDGE_UUIDS

from .conftest import Recording


def _start(tmp_path: Path, *args: str, marker: str = "") -> subprocess.Popen:
    return subprocess.Popen(
        command_line("run", "--report-dir", str(tmp_path / "r"), *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_at_a_terminal,
        env={**os.environ, "JOBS_CONFORMANCE_TEST_RUN": marker},
    )


def _running(process: subprocess.Popen, seconds: float) -> None:
    time.sleep(seconds)
    assert process.poll() is None, "the run finished before it could be stopped"


def _incomplete_report(report_dir: Path, signal_name: str) -> dict:
    report = json.loads((report_dir / "conformance.json").read_text())
    assert report["verdict"] == "incomplete"
    assert sum(row["checked"] for row in report["requirements"]) > 0
    assert any(f"interrupted ({signal_name})" in note for note in report["notes"]), report["notes"]
    assert ET.parse(report_dir / "junit.xml").getroot().tag == "testsuite"
    assert not list(report_dir.glob(".*.tmp"))
    return report


@pytest.fixture(scope="module")
def slow_target(tmp_path_factory):
    # 500 ms a response: the run takes well over the seconds before the signal.
    server = ReferenceServer(latency_ms=500, threads=16)
    recording = Recording(server.app)
    server.app = recording
    with server:
        ids = tmp_path_factory.mktemp("ids") / "ids.txt"
        ids.write_text("\n".join(server.job_ids()))
        yield server.base_url, ids, recording


# The first id the first test sends (its explicit example), once the
# preflight and the declared jobs were answered.
FIRST_TEST_ID = EDGE_UUIDS[0]


def _judging(recording: Recording, since: int, runs: int) -> None:
    """Wait until ``runs`` runs have their first test under way, so each has judged
    something before it is stopped, however long their start-ups took."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        asked = [path for _, path, *_ in recording.seen[since:] if path.endswith(FIRST_TEST_ID)]
        if len(asked) >= runs:
            time.sleep(1.0)  # the answer (500 ms), judged
            return
        time.sleep(0.05)
    raise AssertionError(f"{runs} runs did not start within 60 s")


def test_each_stop_signal_writes_an_incomplete_report_and_exits_2_before_a_kill(
    tmp_path, slow_target
):
    # The three runs side by side: one wait for all of them to be under way.
    base_url, ids, recording = slow_target
    since = len(recording.seen)
    numbers = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    runs = {
        number: _start(tmp_path / number.name, "--base-url", base_url, "--job-ids-file", str(ids))
        for number in numbers
    }
    _judging(recording, since, len(runs))
    for number, process in runs.items():
        assert process.poll() is None, f"the {number.name} run finished before it could be stopped"
    stopped_at = time.monotonic()
    for number, process in runs.items():
        process.send_signal(number)
    for number, process in runs.items():
        out, err = process.communicate(timeout=30)
        assert process.returncode == 2, (number.name, out[-2000:] + err[-2000:])
        _incomplete_report(tmp_path / number.name / "r", number.name)
        assert "Traceback" not in err
    # Before the shortest grace period of the systems that send SIGTERM (docker stop's 10 s)
    # ends in SIGKILL, which would lose the reports; a stop takes well under a second alone,
    # and three at once on a loaded machine have taken 3.1 s.
    assert time.monotonic() - stopped_at < 10


def test_a_second_signal_ends_the_run_at_once(tmp_path, slow_target):
    base_url, ids, recording = slow_target
    since = len(recording.seen)
    process = _start(tmp_path, "--base-url", base_url, "--job-ids-file", str(ids))
    _judging(recording, since, 1)
    assert process.poll() is None, "the run finished before it could be stopped"
    process.send_signal(signal.SIGTERM)
    # Signals of one kind are not queued: the second must come once the
    # first was taken, while the run winds down.
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    process.communicate(timeout=30)
    assert process.returncode == 2
    assert time.monotonic() - started < 1


def _processes_marked(marker: str) -> list[int]:
    """Processes whose environment carries ``marker``: the run and what it started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if f"JOBS_CONFORMANCE_TEST_RUN={marker}".encode() in environment.split(b"\0"):
            found.append(int(entry.name))
    return found


def _port_is_free(port: int) -> bool:
    """Whether nothing listens on ``port`` (connections the stop left in TIME_WAIT are the
    kernel's, for a minute, and no process's)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_a_terminated_run_against_the_embedded_reference_leaves_no_process_and_no_port(tmp_path):
    marker = uuid.uuid4().hex
    # A low rate keeps the embedded run going for seconds.
    process = _start(tmp_path, "--rate-limit", "20", marker=marker)
    # The run has started the reference, checked the declared jobs and judged its first
    # requests by then, at 20 requests a second, even on a loaded machine.
    _running(process, 4.0)
    assert len(_processes_marked(marker)) >= 2, "the run and its embedded reference"
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 2
    report = _incomplete_report(tmp_path / "r", "SIGTERM")
    port = int(report["target"].rsplit(":", 1)[1].split("/", 1)[0])
    deadline = time.monotonic() + 5
    while _processes_marked(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_marked(marker) == []
    assert _port_is_free(port)


_SWALLOWED = """
import os, signal, time


class _Finalizer:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(2)  # the stop lands here: Python prints a finalizer's exception, no more


def test_a_stop_lands_in_a_finalizer():
    _Finalizer()
"""


def test_a_stop_whose_interrupt_was_swallowed_still_stops_the_run(tmp_path):
    # The project's test runs first and takes the SIGTERM in a finalizer; the run must
    # stop there (no contract test judged) and say so, not go on to a verdict.
    own = tmp_path / "test_own.py"
    own.write_text(_SWALLOWED)
    report_dir = tmp_path / "r"
    arguments = [str(own), *plugin_args(), "--conformance-report-dir", str(report_dir)]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 2, output
    report = json.loads((report_dir / "conformance.json").read_text())
    assert report["verdict"] == "incomplete"
    assert any("interrupted (SIGTERM)" in note for note in report["notes"]), report["notes"]
    assert sum(row["checked"] for row in report["requirements"]) == 0, output
    # The project's test passed: the interrupt was swallowed, as staged, not raised.
    assert "1 passed" in result.stdout, output
