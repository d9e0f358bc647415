"""The record (conformance.json), its verdict, and junit.xml."""

from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from tests_support import DOC_EXAMPLE, unknown_id_exchange

from jobs_conformance.contract import default_spec_dir, load_contract
from jobs_conformance.exchange import Exchange, HttpResponse, Intent
from jobs_conformance.oracle import judge
from jobs_conformance.redact import Redactor
from jobs_conformance.report import CaseOutcome, build_report, write_json, write_junit
from jobs_conformance.results import Results

CONTRACT = load_contract()
SCHEMA = json.loads((default_spec_dir() / "conformance.schema.json").read_text())
SECRET = "s3cret-token-0a9f"
JSON = (("Content-Type", "application/json"),)
# A held job whose timestamp lacks seconds: RFC 3339 (should) only.
SHOULD_ONLY = {**DOC_EXAMPLE, "createdAt": "2023-11-07T05:31Z"}


def _results(*statuses: int) -> Results:
    results = Results(CONTRACT)
    for status in statuses:
        exchange = unknown_id_exchange(status)
        results.observe(exchange, judge(exchange, CONTRACT), test="t")
    results.finish_test("t")
    return results


@pytest.mark.parametrize(
    ("statuses", "should_fails", "errors", "strict", "interrupted", "verdict"),
    [
        ((404,), False, False, False, False, "pass"),
        ((500,), False, False, False, False, "fail"),
        ((404,), True, False, False, False, "pass"),
        ((404,), True, False, True, False, "fail"),
        ((404,), False, True, False, False, "incomplete"),
        ((500,), False, True, False, False, "fail"),
        ((500,), False, False, False, True, "incomplete"),
    ],
    ids=[
        "conforming",
        "must-fails",
        "should-fails-lenient",
        "should-fails-strict",
        "error-without-failure",
        "failure-beats-error",
        "interrupted",
    ],
)
def test_verdict_of(statuses, should_fails, errors, strict, interrupted, verdict):
    results = _results(*statuses)
    if should_fails:
        exchange = Exchange(
            HttpResponse(200, JSON, json.dumps(SHOULD_ONLY).encode()),
            Intent.KNOWN,
            job_id=DOC_EXAMPLE["id"],
        )
        results.observe(exchange, judge(exchange, CONTRACT), test="should")
        assert results.requirements["body.datetime-rfc3339"].status == "fail"
    if errors:
        results.error("a request could not complete")
    assert _report(results, strict=strict, interrupted=interrupted)["verdict"] == verdict


def _report(results: Results, **overrides) -> dict:
    arguments = dict(
        target="http://127.0.0.1:1/api/v2",
        started=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        duration_s=1.23456,
        spec_sha256=CONTRACT.spec_sha256,
        seed="derandomized",
        strict=False,
        interrupted=False,
        requests_sent=3,
        known_jobs=0,
        notes=[f"the key {SECRET} was used"],
        suite_version="0.1.0",
        redactor=Redactor.for_headers({"X-Api-Key": SECRET}),
    )
    return build_report(results, **{**arguments, **overrides})


def test_the_record_validates_against_its_schema_and_holds_one_row_per_requirement():
    report = _report(_results(404, 500))
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(
        report
    )
    assert [row["id"] for row in report["requirements"]] == [r.id for r in CONTRACT.requirements]
    row = next(r for r in report["requirements"] if r["id"] == "http.unknown-404")
    assert (row["status"], row["checked"], row["failed"], row["failing_classes"]) == (
        "fail",
        2,
        1,
        1,
    )
    assert row["counterexamples"][0]["response"]["status"] == 500
    assert report["verdict"] == "fail" and report["duration_s"] == 1.235


def test_a_reason_is_shown_only_for_a_requirement_not_checked():
    results = _results(404)
    for row in results.rows():
        row.reason = "because"
    report = _report(results)
    for row in report["requirements"]:
        assert (row["reason"] == "because") == (row["status"] == "not-checked")


def test_the_record_is_redacted(tmp_path):
    report = _report(_results(404))
    write_json(report, tmp_path)
    assert SECRET not in (tmp_path / "conformance.json").read_text()
    assert json.loads((tmp_path / "conformance.json").read_text()) == report


def test_junit_has_one_case_per_test_with_its_requirements_and_outcome(tmp_path):
    outcomes = [
        CaseOutcome("contract/test_ids.py::test_a", "passed", 0.5, ("http.unknown-404",)),
        CaseOutcome(
            "contract/test_ids.py::test_b", "failed", 0.25, ("body.uuid",), f"bad {SECRET}"
        ),
        CaseOutcome("contract/test_seed.py::test_c", "skipped", 0.0, (), "no seeding URL"),
        CaseOutcome("contract/test_auth.py::test_d", "error", 0.0, ("auth.required",), "\x00crash"),
    ]
    write_junit(outcomes, tmp_path, redactor=Redactor.for_headers({"X-Api-Key": SECRET}))
    text = (tmp_path / "junit.xml").read_text()
    assert SECRET not in text
    suite = ET.fromstring(text)
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == (
        "4",
        "1",
        "1",
        "1",
    )
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["test_a"].get("classname") == "contract.test_ids.py"
    assert [p.get("value") for p in cases["test_b"].iter("property")] == ["body.uuid"]
    assert cases["test_a"].find("failure") is None
    assert cases["test_b"].find("failure") is not None
    assert cases["test_c"].find("skipped").text == "no seeding URL"
    assert cases["test_d"].find("error").text == "\\u0000crash"
