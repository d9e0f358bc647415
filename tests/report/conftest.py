"""A report with failures whose counterexamples hold hostile bytes, built through the real pipeline."""

from __future__ import annotations

import datetime
import json

import pytest
from tests_support import DOC_EXAMPLE

from jobs_conformance.contract import load_contract
from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent
from jobs_conformance.oracle import judge
from jobs_conformance.redact import Redactor
from jobs_conformance.report import build_report
from jobs_conformance.results import Results

SECRET = "s3cr3t-token-5a1d9e"
HOSTILE_NAME = (
    '<script>document.title="PWNED"</script><img src=x onerror="document.body.dataset.pwned=1">'
)
HOSTILE_BYTES = b"\x00\x01\x1b[31m]]></x>&amp;\xff\xfe<!--"


def hostile_report() -> dict:
    """A report with three failing requirements whose evidence is markup, controls and invalid UTF-8."""
    redactor = Redactor.for_headers({"Authorization": f"Bearer {SECRET}"})
    results = Results(load_contract())
    request = HttpRequest(
        "GET",
        "http://127.0.0.1:9/api/v2/jobs/" + DOC_EXAMPLE["id"],
        redactor.headers({"Authorization": f"Bearer {SECRET}"}),
    )
    bodies = [
        json.dumps(
            {**DOC_EXAMPLE, "name": HOSTILE_NAME, "createdAt": "2100-02-29T00:00:00Z\u202e"}
        ).encode(),
        b'{"name": "' + HOSTILE_BYTES + b'"}',
    ]
    headers = (("Content-Type", "text/html; <b>x</b>"), ("X-Echo", f"echo {SECRET}\x07"))
    for number, body in enumerate(bodies):
        exchange = Exchange(
            HttpResponse(200, headers, body), Intent.KNOWN, request, DOC_EXAMPLE["id"]
        )
        test = f"tests/contract/test_x.py::test_hostile[{number}]"
        results.observe(exchange, judge(exchange), test=test)
        results.finish_test(test)
    return report_of(results, notes=["<i>note</i>"], known_jobs=1, redactor=redactor)


def report_of(results: Results, **overrides: object) -> dict:
    """The record of ``results``, with fixed run details (``overrides`` change some)."""
    details: dict = dict(
        target="http://127.0.0.1:9/api/v2",
        started=datetime.datetime(2026, 11, 28, tzinfo=datetime.timezone.utc),
        duration_s=1.5,
        spec_sha256="0" * 64,
        seed="derandomized",
        strict=False,
        interrupted=False,
        requests_sent=2,
        known_jobs=0,
        notes=[],
        suite_version="test",
        redactor=Redactor.for_headers({}),
    )
    return build_report(results, **{**details, **overrides})


@pytest.fixture
def report() -> dict:
    return hostile_report()
