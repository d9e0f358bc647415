"""`jobs-conformance run` and plain `pytest --base-url`: options, exit codes, reports."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from tests_support import run_suite, statuses

from jobs_conformance.contract import contract_tests_dir, default_spec_dir, load_contract
from jobs_conformance.plugin import SCHEMATHESIS_MODULE
from jobs_conformance.reference.server import ReferenceServer

SCHEMA = json.loads((default_spec_dir() / "conformance.schema.json").read_text())
CONTRACT_TESTS = contract_tests_dir()


def _validate_reports(report_dir: Path) -> dict:
    report = json.loads((report_dir / "conformance.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(
        report
    )
    suite = ET.parse(report_dir / "junit.xml").getroot()
    cases = suite.findall("testcase")
    assert cases and all(
        case.find("properties/property[@name='requirement']") is not None for case in cases
    )
    catalogue = {r.id for r in load_contract().requirements}
    assert {p.get("value") for p in suite.iter("property")} <= catalogue
    return report


def test_every_requirement_has_a_contract_test_in_the_default_run(monkeypatch):
    # The contract modules import their helper (_batches) from their folder,
    # as pytest arranges when it collects them. schemathesis's module runs
    # only on request, so the others must cover the catalogue on their own.
    monkeypatch.syspath_prepend(str(CONTRACT_TESTS))
    marked: set[str] = set()
    for path in CONTRACT_TESTS.glob("test_*.py"):
        if path.name == SCHEMATHESIS_MODULE:
            continue
        spec = importlib.util.spec_from_file_location(f"_contract_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for value in vars(module).values():
            for mark in getattr(value, "pytestmark", []):
                if mark.name == "requirement":
                    marked.update(mark.args)
    assert marked == {r.id for r in load_contract().requirements}


@pytest.fixture(scope="module")
def server():
    with ReferenceServer() as reference:
        yield reference


def test_plain_pytest_against_a_server_started_by_hand(tmp_path, server):
    job_id = server.job_ids()[5]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(CONTRACT_TESTS),
            "--base-url",
            server.base_url,
            "--job-id",
            job_id,
            "--report-dir",
            str(tmp_path),
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=CONTRACT_TESTS.parent.parent,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    report = _validate_reports(tmp_path)
    assert report["verdict"] == "pass" and report["known_jobs"] == 1
    assert statuses(report)["body.datetime"] == "pass"
    assert statuses(report)["auth.required"] == "not-checked"


def test_cli_run_against_a_server_started_by_hand_with_one_job(tmp_path, server):
    code, _, stdout, _ = run_suite(
        "--base-url", server.base_url, "--job-id", server.job_ids()[0], report_dir=tmp_path / "r"
    )
    assert code == 0
    _validate_reports(tmp_path / "r")
    for line in ("body.json", "http.unknown-404", "verdict  PASS"):
        assert line in stdout


def test_no_known_jobs_reports_body_requirements_not_checked_with_the_reason(tmp_path, server):
    code, report, _, _ = run_suite("--base-url", server.base_url, report_dir=tmp_path / "r")
    assert code == 0
    _validate_reports(tmp_path / "r")
    rows = {row["id"]: row for row in report["requirements"]}
    for requirement in ("body.json", "body.datetime", "http.status-known", "http.idempotent"):
        assert rows[requirement]["status"] == "not-checked"
        assert "no known jobs" in rows[requirement]["reason"]
    assert (
        rows["http.unknown-404"]["status"] == "pass"
        and rows["http.malformed-4xx"]["status"] == "pass"
    )
    assert any("No known jobs" in note for note in report["notes"])


def test_failing_run_reports_validate_against_the_schema(tmp_path):
    with ReferenceServer(faults=["ts-lowercase-z"]) as faulty:
        code, report, _, _ = run_suite(
            "--base-url",
            faulty.base_url,
            "--job-id",
            faulty.job_ids()[1],
            report_dir=tmp_path / "r",
        )
    assert code == 1
    report = _validate_reports(tmp_path / "r")
    (row,) = [r for r in report["requirements"] if r["id"] == "body.datetime"]
    example = row["counterexamples"][0]
    requested = example["request"]["url"].rsplit("/", 1)[1]
    assert example["request"]["method"] == "GET"
    assert requested.lower() in example["response"]["body_excerpt"].lower()
    assert example["response"]["status"] == 200
    assert "lower-case" in example["message"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_target_is_exit_2_with_one_clear_line_and_a_report(tmp_path):
    started = time.monotonic()
    code, report, stdout, stderr = run_suite(
        "--base-url",
        f"http://127.0.0.1:{_closed_port()}/api/v2",
        "--timeout",
        "2",
        report_dir=tmp_path / "r",
    )
    assert code == 2
    assert time.monotonic() - started < 30
    assert "cannot connect to http://127.0.0.1" in stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert report["verdict"] == "incomplete" and report["errors"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--timeout", "abc"], "--timeout"),
        (["--timeout", "0"], "--timeout"),
        (["--job-id", "not-a-uuid"], "--job-id"),
        (["--job-id", "3c90c3cc-0d44-4b50-8888-8dd25736052a\n"], "--job-id"),
        (["--base-url", "ftp://example.com"], "--base-url"),
        (["--header", "no colon here"], "--header"),
        (["--job-ids-file", "/nonexistent/ids.txt"], "--job-ids-file"),
        (["--max-requests", "0"], "--max-requests"),
        (["--workers", "1000"], "--workers"),
        (["--hypothesis-profile", "fast"], "--hypothesis-profile"),
    ],
)
def test_usage_errors_exit_4_naming_the_option(tmp_path, args, named):
    code, report, stdout, stderr = run_suite(*args, report_dir=tmp_path / "r", timeout=60)
    assert code == 4, stdout + stderr
    assert named in stderr and "Traceback" not in stderr
    assert report is None


def test_header_from_the_environment_is_used_and_never_printed(tmp_path):
    secret = "env-secret-value-91c2"
    with ReferenceServer(api_key=secret) as server:
        code, report, stdout, stderr = run_suite(
            "--base-url",
            server.base_url,
            "--job-id",
            server.job_ids()[0],
            report_dir=tmp_path / "r",
            env={"JOBS_CONFORMANCE_HEADERS": f"X-Api-Key: {secret}"},
        )
    assert code == 0, stdout
    assert statuses(report)["auth.required"] == "pass"
    assert secret not in stdout + stderr
    for path in (tmp_path / "r").iterdir():
        assert secret.encode() not in path.read_bytes()


def test_env_precedence_option_beats_environment(tmp_path, server):
    env = {**os.environ, "JOBS_CONFORMANCE_TIMEOUT": "not-a-number"}
    code, _, _, stderr = run_suite(
        "--base-url", server.base_url, report_dir=tmp_path / "r", env=env, timeout=60
    )
    assert code == 4 and "--timeout" in stderr
    code, _, _, _ = run_suite(
        "--base-url", server.base_url, "--timeout", "5", report_dir=tmp_path / "r2", env=env
    )
    assert code == 0


def test_a_failing_suite_test_is_not_masked_by_a_passing_verdict(tmp_path):
    # `pytest tests` runs the contract suite and the suite's own tests in one
    # session: the verdict decides the exit code only when nothing else failed.
    failing = tmp_path / "test_other.py"
    failing.write_text("def test_broken():\n    assert 1 == 2\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(CONTRACT_TESTS / "test_auth.py"),
            str(failing),
            "-q",
            "-p",
            "no:cacheprovider",
            "--report-dir",
            str(tmp_path / "r"),
            "-c",
            str(CONTRACT_TESTS.parent.parent / "pyproject.toml"),
            f"--rootdir={CONTRACT_TESTS.parent.parent}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert json.loads((tmp_path / "r" / "conformance.json").read_text())["verdict"] == "pass"
    assert result.returncode == 1, result.stdout[-2000:]


def _junit_tests(report_dir: Path) -> set[str]:
    return {
        case.get("name") for case in ET.parse(report_dir / "junit.xml").getroot().iter("testcase")
    }


def test_schemathesis_generation_runs_only_when_asked_for(tmp_path):
    code, report, out, err = run_suite(
        report_dir=tmp_path / "default", env={"PYTHONPROFILEIMPORTTIME": "1"}
    )
    assert code == 0 and report["verdict"] == "pass"
    assert not {t for t in _junit_tests(tmp_path / "default") if t.startswith("test_schema_")}
    # Not even imported: that is most of what it costs.
    assert re.search(r"\|\s+hypothesis$", err, re.MULTILINE)
    assert not re.search(r"\|\s+schemathesis$", err, re.MULTILINE)
    code, report, out, _ = run_suite(
        report_dir=tmp_path / "asked", env={"JOBS_CONFORMANCE_SCHEMATHESIS": "1"}
    )
    assert code == 0 and report["verdict"] == "pass", out
    assert {"test_schema_positive", "test_schema_negative"} <= _junit_tests(tmp_path / "asked")


@pytest.mark.parametrize(
    ("fault", "requirement", "test"),
    [
        # Rejects every version but 4 as malformed: the positive ids of other versions.
        ("only-v4", "http.unknown-404", "test_schema_positive"),
        # A server error for a malformed id: the negative ids.
        ("malformed-500", "http.malformed-4xx", "test_schema_negative"),
    ],
)
def test_schemathesis_generation_catches_faults_on_its_own(tmp_path, fault, requirement, test):
    with ReferenceServer(faults=[fault]) as target:
        code, report, out, _ = run_suite(
            "--base-url",
            target.base_url,
            "--schemathesis",
            "--",
            "-k",
            test,
            report_dir=tmp_path / "r",
        )
    assert code == 1, out
    assert statuses(report)[requirement] == "fail"
    assert _junit_tests(tmp_path / "r") == {test}


def test_a_failing_run_does_not_build_hypothesis_patches(tmp_path):
    # For each failing property Hypothesis's plugin would build an @example
    # patch of the suite's own test file, importing libcst to do it (0.2 s a
    # failing test); the counterexample is in the report already.
    with ReferenceServer(faults=["malformed-500"]) as target:
        code, report, _, err = run_suite(
            "--base-url",
            target.base_url,
            report_dir=tmp_path / "r",
            env={"PYTHONPROFILEIMPORTTIME": "1"},
        )
    assert code == 1 and statuses(report)["http.malformed-4xx"] == "fail"
    assert "hypothesis.extra._patching" not in err
    assert "| hypothesis" in err  # the import log was written: the check above can fail
