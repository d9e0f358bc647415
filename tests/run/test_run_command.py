"""`jobs-conformance run` and `pytest -p jobs_conformance`: options, exit codes, reports.

The CLI's own part (its options handed to pytest, its exit codes, what it
imports) runs in subprocesses; the rest is the same pytest session, run in
this process with pytester.
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from tests_support import closed_port, run_in_process, run_suite, statuses

from jobs_conformance.contract import contract_tests_dir, default_spec_dir, load_contract
from jobs_conformance.reference.server import ReferenceServer

SCHEMA = json.loads((default_spec_dir() / "conformance.schema.json").read_text())
CONTRACT_TESTS = contract_tests_dir()

pytest_plugins = ["pytester"]


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
    named = {p.get("value") for p in suite.iter("property") if p.get("name") == "requirement"}
    assert named <= catalogue
    # A finding property names a finding of the record.
    findings = {p.get("value") for p in suite.iter("property") if p.get("name") == "finding"}
    assert findings <= {f["id"] for f in report["findings"]}
    return report


def test_every_requirement_has_a_contract_test_in_the_default_run(pytester):
    # What the plugin collects without --schemathesis must cover the catalogue.
    items, _ = pytester.inline_genitems(
        "-p", "jobs_conformance", "-p", "no:randomly", "--base-url", "http://127.0.0.1:9/api/v2"
    )
    marked = {i for item in items for m in item.iter_markers("requirement") for i in m.args}
    assert items and all(item.path.is_relative_to(CONTRACT_TESTS) for item in items)
    assert marked == {r.id for r in load_contract().requirements}


@pytest.fixture(scope="module")
def server():
    with ReferenceServer() as reference:
        yield reference


def test_plain_pytest_against_a_server_started_by_hand(pytester, server):
    code, report, output = run_in_process(
        pytester,
        "--base-url",
        server.base_url,
        "--conformance-job-id",
        server.job_ids()[5],
        report_dir=pytester.path / "r",
    )
    assert code == 0, output
    _validate_reports(pytester.path / "r")
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


def test_no_known_jobs_reports_body_requirements_not_checked_with_the_reason(pytester, server):
    code, report, output = run_in_process(
        pytester, "--base-url", server.base_url, report_dir=pytester.path / "r"
    )
    assert code == 0, output
    _validate_reports(pytester.path / "r")
    rows = {row["id"]: row for row in report["requirements"]}
    for requirement in ("body.json", "body.datetime", "http.status-known", "http.idempotent"):
        assert rows[requirement]["status"] == "not-checked"
        assert "no known jobs" in rows[requirement]["reason"]
    assert (
        rows["http.unknown-404"]["status"] == "pass"
        and rows["http.malformed-4xx"]["status"] == "pass"
    )
    assert any("No held job was read" in note for note in report["notes"])


def test_failing_run_reports_validate_against_the_schema(pytester):
    with ReferenceServer(faults=["ts-lowercase-z"]) as faulty:
        code, report, output = run_in_process(
            pytester,
            "--base-url",
            faulty.base_url,
            "--conformance-job-id",
            faulty.job_ids()[1],
            report_dir=pytester.path / "r",
        )
    assert code == 1, output
    report = _validate_reports(pytester.path / "r")
    (row,) = [r for r in report["requirements"] if r["id"] == "body.datetime"]
    example = row["counterexamples"][0]
    requested = example["request"]["url"].rsplit("/", 1)[1]
    assert example["request"]["method"] == "GET"
    assert requested.lower() in example["response"]["body_excerpt"].lower()
    assert example["response"]["status"] == 200
    assert "lower-case" in example["message"]


def test_unreachable_target_is_exit_2_with_one_clear_line_and_a_report(pytester):
    started = time.monotonic()
    code, report, output = run_in_process(
        pytester,
        "--base-url",
        f"http://127.0.0.1:{closed_port()}/api/v2",
        "--conformance-timeout",
        "2",
        report_dir=pytester.path / "r",
    )
    assert code == 2, output
    assert time.monotonic() - started < 30
    assert "jobs-conformance: cannot connect to http://127.0.0.1" in output
    assert "Traceback" not in output
    assert report["verdict"] == "incomplete" and report["errors"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        # Resolved by the plugin, named as the CLI spells it.
        (["--timeout", "abc"], "--timeout"),
        # Refused by the CLI's own parser.
        (["--hypothesis-profile", "fast"], "--hypothesis-profile"),
    ],
)
def test_usage_errors_exit_4_naming_the_option_as_the_cli_spells_it(tmp_path, args, named):
    # Every option's checks: tests/harness/test_settings.py.
    code, report, stdout, stderr = run_suite(*args, report_dir=tmp_path / "r", timeout=60)
    assert code == 4, stdout + stderr
    assert named in stderr and "--conformance-" not in stderr
    assert "Traceback" not in stderr
    assert report is None


def test_header_from_the_environment_is_used_and_never_printed(pytester, monkeypatch):
    secret = "env-secret-value-91c2"
    monkeypatch.setenv("JOBS_CONFORMANCE_HEADERS", f"X-Api-Key: {secret}")
    monkeypatch.setenv("JOBS_CONFORMANCE_AUTH_HEADERS", "x-api-key")
    with ReferenceServer(api_key=secret) as server:
        code, report, output = run_in_process(
            pytester,
            "--base-url",
            server.base_url,
            "--conformance-job-id",
            server.job_ids()[0],
            report_dir=pytester.path / "r",
        )
    assert code == 0, output
    assert statuses(report)["auth.required"] == "pass"
    assert secret not in output
    for path in (pytester.path / "r").iterdir():
        assert secret.encode() not in path.read_bytes()


def _junit_tests(report_dir: Path) -> set[str]:
    return {
        case.get("name") for case in ET.parse(report_dir / "junit.xml").getroot().iter("testcase")
    }


def test_a_default_run_imports_neither_schemathesis_nor_hypothesis_patching(tmp_path):
    # schemathesis's generation runs only when asked for: not even imported,
    # which is most of what it costs. For each failing property Hypothesis's
    # plugin would build an @example patch of the suite's own test file,
    # importing libcst (0.2 s a failing test); the counterexample is in the
    # report already. One failing CLI run shows both.
    with ReferenceServer(faults=["malformed-500"]) as target:
        code, report, _, err = run_suite(
            "--base-url",
            target.base_url,
            report_dir=tmp_path / "r",
            env={"PYTHONPROFILEIMPORTTIME": "1"},
        )
    assert code == 1 and statuses(report)["http.malformed-4xx"] == "fail"
    assert not {t for t in _junit_tests(tmp_path / "r") if t.startswith("test_schema_")}
    # The import log was written: the checks after it can fail.
    assert re.search(r"\|\s+hypothesis$", err, re.MULTILINE)
    assert not re.search(r"\|\s+schemathesis$", err, re.MULTILINE)
    assert "hypothesis.extra._patching" not in err


@pytest.mark.parametrize(
    ("fault", "requirement", "test"),
    [
        # Rejects every version but 4 as malformed: the positive ids of other versions.
        ("only-v4", "http.unknown-404", "test_schema_positive"),
        # A server error for a malformed id: the negative ids.
        ("malformed-500", "http.malformed-4xx", "test_schema_negative"),
    ],
)
def test_schemathesis_generation_catches_faults_on_its_own(pytester, fault, requirement, test):
    with ReferenceServer(faults=[fault]) as target:
        code, report, output = run_in_process(
            pytester,
            "--base-url",
            target.base_url,
            "--conformance-schemathesis",
            "-k",
            test,
            report_dir=pytester.path / "r",
        )
    assert code == 1, output
    assert statuses(report)[requirement] == "fail"
    assert _junit_tests(pytester.path / "r") == {test}
