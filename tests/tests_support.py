"""Data shared by the suite's own tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from jobs_conformance.cli import run_arguments, run_invocation
from jobs_conformance.invocation import command_line

# ../shared beside the checkout: the doc page and the peer vectors (CI has it).
SHARED = Path(__file__).resolve().parents[2] / "shared"
JSTS = SHARED / "vectors" / "jsts" / "draft2020-12"


def vector_params(*files: str, strings_only: bool = False) -> list[Any]:
    """One pytest param per JSON-Schema-Test-Suite case in ``files``; one skip saying why if absent."""
    if not JSTS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{JSTS} is absent (CI has it)"))]
    params = []
    for name in files:
        for group in json.loads((JSTS / name).read_text(encoding="utf-8")):
            for test in group["tests"]:
                if strings_only and not isinstance(test["data"], str):
                    continue
                case_id = f"{name}: {group['description']}: {test['description']}"
                params.append(
                    pytest.param((group["schema"], test["data"], test["valid"]), id=case_id)
                )
    return params


# The doc page's example response, verbatim.
DOC_EXAMPLE = {
    "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    "name": "<string>",
    "createdAt": "2023-11-07T05:31:56Z",
    "updatedAt": "2023-11-07T05:31:56Z",
    "organizationId": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    "sourceProvider": "<string>",
    "createdByUserId": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    "updatedByUserId": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    "jobConfigJson": {"workflowExecutionOrder": ["3c90c3cc-0d44-4b50-8888-8dd25736052a"]},
}


def run_suite(
    *args: str, report_dir: Path, env: dict[str, str] | None = None, timeout: float = 600
):
    """``jobs-conformance run`` in a subprocess; returns (exit code, conformance.json or None, stdout, stderr)."""
    import os
    import subprocess

    command = command_line(
        "run",
        "--report-dir",
        str(report_dir),
        *args,
    )
    result = subprocess.run(
        command,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=report_dir.parent,
    )
    path = report_dir / "conformance.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return (
        result.returncode,
        report,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def run_cli_in_process(
    pytester: pytest.Pytester, *args: str, report_dir: Path, env: dict[str, str] | None = None
):
    """``jobs-conformance run ARGS`` in this process: the same pytest session the command
    starts (its arguments and plugins, from the CLI itself), without an interpreter's start.

    Returns what :func:`run_suite` does: (exit code, conformance.json or None, stdout, stderr).
    For what only a process shows (exit without teardown, signals, memory), use run_suite.
    """
    arguments, plugins = run_invocation(["--report-dir", str(report_dir), *args])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(pytester.path / ".hypothesis"))
        patch.delenv("PYTEST_ADDOPTS", raising=False)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        result = pytester.runpytest_inprocess(*arguments, plugins=plugins)
    path = report_dir / "conformance.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return int(result.ret), report, "\n".join(result.outlines), "\n".join(result.errlines)


# What `jobs-conformance run` hands pytest besides its options, for running
# the contract suite in this process with pytester; tracebacks are shown for
# a failing case.
def plugin_args(*extra: str) -> tuple[str, ...]:
    return (*run_arguments(extra), "--tb=short")


PLUGIN_ARGS = plugin_args()


def run_in_process(pytester: pytest.Pytester, *args: str, report_dir: Path):
    """``pytest -p jobs_conformance ARGS`` in this process; (exit code, conformance.json or None, output).

    The same session a subprocess would run, without the interpreter's start
    (about 1.5 s of a 2.5 s run). Hypothesis's storage folder is the test's
    own, so the plugin leaves this process's Hypothesis settings alone.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(pytester.path / ".hypothesis"))
        result = pytester.runpytest_inprocess(
            *plugin_args(*args), "--conformance-report-dir", str(report_dir), *args
        )
    path = report_dir / "conformance.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return int(result.ret), report, "\n".join(result.outlines + result.errlines)


def run_against(
    pytester: pytest.Pytester,
    server: Any,
    *args: str,
    job_ids: Sequence[str] = (),
    report_dir: Path,
):
    """:func:`run_in_process` against a started reference ``server``, declaring ``job_ids``."""
    declared = [arg for job_id in job_ids for arg in ("--conformance-job-id", job_id)]
    return run_in_process(
        pytester, "--base-url", server.base_url, *declared, *args, report_dir=report_dir
    )


def usage_error(*args: str) -> str:
    """``jobs-conformance ARGS``, which must be a usage error (exit 4, no traceback); its stderr."""
    import subprocess

    result = subprocess.run(command_line(*args), capture_output=True, text=True, timeout=60)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def as_at_a_terminal() -> None:
    """``preexec_fn`` for a process a test presses Ctrl-C on: SIGINT handled by default.

    A test run started in the background by a non-interactive shell (a CI
    script's ``&``) inherits SIGINT ignored, and so would the processes it
    starts; a user's Ctrl-C reaches a foreground process that handles it.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released, by this process)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def statuses(report: dict[str, Any]) -> dict[str, str]:
    """requirement id -> status, from a conformance.json document."""
    return {row["id"]: row["status"] for row in report["requirements"]}


def failed(report: dict[str, Any]) -> set[str]:
    """The requirements a conformance.json document fails."""
    return {requirement for requirement, status in statuses(report).items() if status == "fail"}


def counts_of(report: dict[str, Any]) -> dict[str, Any]:
    """What a conformance.json document counts, without its examples: what a resumed or
    merged report must say as one process over everything says it."""
    keys = ("id", "count", "severity", "status", "fails_run")
    return {
        "verdict": report["verdict"],
        "errors": report["errors"],
        "findings": [{k: f[k] for k in keys} for f in report["findings"]],
        "rows": [
            {k: r[k] for k in ("id", "status", "checked", "failed", "failing_classes", "affected")}
            for r in report["requirements"]
        ],
    }


def recorded_exchange(
    path: str,
    status: int,
    body: object = None,
    *,
    host: str = "https://gateway.example/api/v2",
    **extra: object,
) -> dict[str, Any]:
    """One NDJSON exchange as ``observe`` reads it (spec/observed-exchange.schema.json):
    ``GET {host}{path}``, JSON headers on a 200, ``body`` as its JSON text."""
    return {
        "method": "GET",
        "url": f"{host}{path}",
        "status": status,
        "headers": {"Content-Type": "application/json"} if status == 200 else {},
        "body": None if body is None else json.dumps(body),
        **extra,
    }


UNHELD = "00000000-0000-4000-8000-000000000001"


def unknown_id_exchange(status: int, job_id: str = UNHELD):
    """A GET of an id the target does not hold, answered ``status`` (404 conforms; 500 breaks http.unknown-404 only)."""
    from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent

    return Exchange(
        HttpResponse(status, (("Content-Type", "application/json"),), b"{}"),
        Intent.UNKNOWN,
        request=HttpRequest("GET", f"http://127.0.0.1:1/api/v2/jobs/{job_id}"),
        job_id=job_id,
    )
