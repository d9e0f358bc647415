"""`jobs-conformance serve` as a user runs it: prints the URL, answers curl, stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
from tests_support import as_at_a_terminal, usage_error

from jobs_conformance.invocation import command_line
from jobs_conformance.reference.corpus import load_corpus


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        command_line("serve", "--port", "0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_at_a_terminal,
    )
    base_url = process.stdout.readline().strip()
    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v2"), base_url
    return process, base_url


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_serve_answers_curl_and_stops_cleanly_on_ctrl_c():
    process, base_url = _start()
    try:
        job = load_corpus()[3]
        out = subprocess.run(
            ["curl", "-s", "-i", f"{base_url}/jobs/{job['id']}"], capture_output=True, timeout=30
        ).stdout.decode("utf-8")
        head, _, body = out.partition("\r\n\r\n")
        assert head.startswith("HTTP/1.1 200")
        assert "content-type: application/json" in head.lower()
        assert json.loads(body)["id"] == job["id"]
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "Traceback" not in stderr


def test_list_faults_prints_name_and_requirements_per_line():
    from jobs_conformance.reference.faults import FAULTS

    out = subprocess.run(
        command_line("serve", "--list-faults"),
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.splitlines()
    listed = {line.split()[0]: line for line in out}
    for name, fault in FAULTS.items():
        assert all(requirement in listed[name] for requirement in fault.requirements)


@pytest.mark.parametrize(
    "args",
    [["--fault", "no-such-fault"], ["--port", "70000"], ["--latency-ms", "-5"], ["--threads", "0"]],
)
def test_bad_options_exit_4_with_a_clear_message(args):
    assert args[1] in usage_error("serve", *args)


def test_port_in_use_is_a_usage_error():
    process, base_url = _start()
    try:
        port = base_url.split(":")[2].split("/")[0]
        assert "--port" in usage_error("serve", "--port", port)
    finally:
        process.terminate()
        process.communicate(timeout=15)


def test_the_embedded_reference_stops_cleanly_where_sigint_is_ignored():
    # Background jobs of a non-interactive shell (CI scripts, nohup) start
    # with SIGINT ignored, and their children inherit that: the suite must
    # still stop its reference server, not wait out a timeout and kill it.
    script = (
        "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "from jobs_conformance.reference.server import ReferenceProcess\n"
        "server = ReferenceProcess(); server.base_url; server.stop(); print(server.returncode)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "0", out.stderr


def test_serve_stops_cleanly_on_sigterm():
    process, _ = _start()
    process.terminate()
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "stopped" in stderr and "Traceback" not in stderr


def test_a_reader_that_goes_away_ends_the_listing_without_a_traceback():
    # `jobs-conformance serve --list-faults | head -1`, with the reader gone
    # before the first line: every write meets a closed pipe.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            command_line("serve", "--list-faults"),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
