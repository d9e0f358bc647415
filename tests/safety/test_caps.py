"""Hostile bodies are violations, never crashes, and never exhaust memory."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time

import pytest
from hostile import HostileServer, endless_zeros, gzip_bomb, json_400, json_404, reset, respond

from jobs_conformance.invocation import command_line

from .conftest import HELD, is_held, is_malformed

JSON = {"Content-Type": "application/json", "Connection": "close"}


def _two_gib(connection):
    total = 2 << 30
    connection.sendall(
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {total}\r\n\r\n".encode()
    )
    for block in endless_zeros(total):
        connection.sendall(block)  # raises once the client hangs up at its cap


@functools.cache
def _bomb_body() -> bytes:
    return gzip_bomb(1 << 30)


def _bomb(connection):
    respond(connection, 200, _bomb_body(), {**JSON, "Content-Encoding": "gzip"})


def _reset_mid_body(connection):
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
        + b'{"id": "'
        + b"x" * 100
    )
    # Let the client read the head first: a reset discards unread data, and a
    # reset before the status line is "no response", not a cut-off body.
    time.sleep(0.3)
    reset(connection)


BEHAVIOURS = {
    "2-GiB body": (_two_gib, "exceeds the"),
    "gzip bomb (1 GiB inflated)": (_bomb, "exceeds the"),
    "200,000-deep array": (
        lambda c: respond(c, 200, b"[" * 200_000 + b"]" * 200_000, JSON),
        "nests too deeply",
    ),
    "invalid UTF-8": (lambda c: respond(c, 200, b'{"name": "\xff\xfe"}', JSON), "not valid UTF-8"),
    "reset mid-body": (_reset_mid_body, "incomplete"),
    "HTML 200": (
        lambda c: respond(
            c, 200, b"<html><body>Login</body></html>", {"Content-Type": "text/html"}
        ),
        "not JSON",
    ),
}


def _behaviour(action):
    def serve(seen, connection):
        if is_held(seen):
            action(connection)
            connection._closed = True
        elif is_malformed(seen):
            json_400(seen, connection)
        else:
            json_404(seen, connection)

    return serve


# Runs the CLI in a child of a fresh interpreter, so RUSAGE_CHILDREN is that
# one run's peak resident set, not the test process's earlier children.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)


@pytest.mark.parametrize("name", list(BEHAVIOURS))
def test_hostile_body_is_a_body_json_violation_within_300_mib(tmp_path, name):
    action, reason = BEHAVIOURS[name]
    if action is _bomb:
        # Built before the run, not while the client waits for an answer:
        # compressing 1 GiB takes longer than a busy machine's --timeout.
        _bomb_body()
    report_dir = tmp_path / "r"
    with HostileServer(_behaviour(action)) as server:
        command = command_line(
            "run",
            "--base-url",
            server.base_url,
            "--job-id",
            HELD,
            "--report-dir",
            str(report_dir),
        )
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command],
            capture_output=True,
            text=True,
            timeout=600,
            env=os.environ,
        )
    peak_kib, code = map(int, result.stdout.split()[-2:])
    report = json.loads((report_dir / "conformance.json").read_text())
    assert code == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    rows = {row["id"]: row for row in report["requirements"]}
    assert rows["body.json"]["status"] == "fail"
    assert any(reason in example["message"] for example in rows["body.json"]["counterexamples"])
    assert report["errors"] == []
    assert peak_kib < 300 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
    print(f"{name}: peak RSS {peak_kib / 1024:.0f} MiB")
