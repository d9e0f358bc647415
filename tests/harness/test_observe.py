"""observe: recorded exchanges judged by the run's oracle, with what the traffic could show."""

from __future__ import annotations

import gzip
import json

import jsonschema
import pytest
from tests_support import DOC_EXAMPLE

from jobs_conformance.cli import main as cli
from jobs_conformance.contract import default_spec_dir
from jobs_conformance.observe import observe

DOC_ID = DOC_EXAMPLE["id"]
JSON = {"Content-Type": "application/json"}


def _exchange(path: str, status: int, body: object = None, **extra: object) -> dict:
    return {
        "method": "GET",
        "url": f"https://gateway.example/api/v2{path}",
        "status": status,
        "headers": JSON if status == 200 else {},
        "body": None if body is None else json.dumps(body),
        **extra,
    }


TRAFFIC = [
    _exchange(f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "createdAt": "2023-11-07T05:31:56+00:00"}),
    _exchange(f"/jobs/%7B{DOC_ID}%7D", 200, DOC_EXAMPLE),  # braces accepted
    _exchange(f"/jobs/{DOC_ID.upper()}", 404, {"error": "not found"}),  # case-sensitive
    _exchange("/jobs/00000000-0000-4000-8000-000000000001", 500, "oops"),
    _exchange("/health", 200, "ok"),
    {**_exchange(f"/jobs/{DOC_ID}", 200), "method": "DELETE"},
]


def _write(path, exchanges, *, compress: bool = False) -> str:
    text = "".join(json.dumps(e) + "\n" for e in exchanges).encode()
    path.write_bytes(gzip.compress(text) if compress else text)
    return str(path)


def _failed(report: dict) -> set[str]:
    return {r["id"] for r in report["requirements"] if r["status"] == "fail"}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_recorded_traffic_is_judged_by_the_runs_oracle(tmp_path, compress):
    source = _write(tmp_path / "traffic.ndjson", TRAFFIC, compress=compress)
    code, report = observe([source], report_dir=tmp_path / "r")
    assert code == 1
    assert _failed(report) == {
        "body.datetime",
        "http.malformed-4xx",
        "http.case-insensitive",
        "http.unknown-404",
    }
    coverage = report["coverage"]
    assert coverage["exchanges"] == 4
    assert coverage["skipped"] == {"another endpoint": 1, "method DELETE": 1}
    # What the traffic could not show is not-checked, never pass.
    for requirement in ("auth.required", "seed.round-trip", "http.status-known", "http.idempotent"):
        assert requirement in coverage["never_exercised"]
    assert (tmp_path / "r" / "conformance.md").is_file()
    schema = json.loads((default_spec_dir() / "conformance.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    recorded = json.loads((default_spec_dir() / "observed-exchange.schema.json").read_text())
    for exchange in TRAFFIC:
        jsonschema.Draft202012Validator(recorded).validate(exchange)


def test_bodies_absent_leave_body_requirements_not_checked(tmp_path):
    logged = [{**e, "body": None} for e in TRAFFIC[:4]]
    code, report = observe([_write(tmp_path / "log.ndjson", logged)], report_dir=tmp_path / "r")
    assert code == 1  # the 500 and the braces' 200 show without bodies
    rows = {r["id"]: r for r in report["requirements"]}
    assert all(rows[r]["status"] == "not-checked" for r in rows if r.startswith("body."))
    assert rows["body.json"]["reason"] == "no 200 body was recorded"
    assert _failed(report) == {"http.malformed-4xx", "http.unknown-404"}


def test_the_same_job_read_twice_with_one_updated_at_and_two_bodies_is_not_idempotent(tmp_path):
    first = _exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE)
    second = _exchange(f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "name": "changed"})
    code, report = observe(
        [_write(tmp_path / "t.ndjson", [first, second])], report_dir=tmp_path / "r"
    )
    assert code == 1 and _failed(report) == {"http.idempotent"}


def test_a_har_export_and_a_gateway_prefix(tmp_path):
    har = {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "request": {
                        "method": "GET",
                        "url": f"https://gw.example/jobs-api/api/v2/jobs/{DOC_ID}%0A",
                        "headers": [{"name": "Authorization", "value": "Bearer s3cret-token-x"}],
                    },
                    "response": {
                        "status": 200,
                        "headers": [{"name": "Content-Type", "value": "application/json"}],
                        "content": {"text": json.dumps(DOC_EXAMPLE)},
                    },
                },
                {
                    "request": {
                        "method": "GET",
                        "url": "https://gw.example/other/jobs/x",
                        "headers": [],
                    },
                    "response": {"status": 404, "headers": [], "content": {}},
                },
            ],
        }
    }
    source = tmp_path / "export.har"
    source.write_text(json.dumps(har))
    code, report = observe([str(source)], path_prefix="/jobs-api/api/v2", report_dir=tmp_path / "r")
    # A trailing newline is a near miss the service answered 200.
    assert code == 1 and _failed(report) == {"http.malformed-4xx"}
    assert report["coverage"]["skipped"] == {"another endpoint": 1}
    # Recorded credentials never reach the reports.
    for path in (tmp_path / "r").iterdir():
        assert "s3cret-token-x" not in path.read_text(errors="replace")


def test_the_command_reads_stdin_and_refuses_a_missing_file(tmp_path, monkeypatch, capsys):
    import io
    import sys

    data = "".join(json.dumps(e) + "\n" for e in TRAFFIC[:1]).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    assert cli(["observe", "-", "--report-dir", str(tmp_path / "r")]) == 1
    assert "body.datetime" in capsys.readouterr().out
    assert cli(["observe", str(tmp_path / "missing.ndjson")]) == 4


def test_a_schemathesis_cassette_and_an_access_log(tmp_path):
    import yaml

    cassette = {
        "command": "st run spec/openapi.yaml --report vcr",
        "recorded_with": "Schemathesis",
        "http_interactions": [
            {
                "id": "1",
                "request": {
                    "uri": f"http://127.0.0.1:8080/api/v2/jobs/urn:uuid:{DOC_ID}",
                    "method": "GET",
                    "headers": {"User-Agent": ["schemathesis"]},
                },
                "response": {
                    "status": {"code": "200", "message": "OK"},
                    "headers": {"Content-Type": ["application/json"]},
                    "body": {"encoding": "utf-8", "string": json.dumps(DOC_EXAMPLE)},
                },
            }
        ],
    }
    vcr = tmp_path / "cassette.yaml"
    vcr.write_text(yaml.safe_dump(cassette))
    code, report = observe([str(vcr)], report_dir=tmp_path / "vcr")
    assert code == 1 and _failed(report) == {"http.malformed-4xx"}
    # An access log: the request line and the status, no body.
    log = tmp_path / "access.log.jsonl"
    log.write_text(
        json.dumps({"request": f"GET /api/v2/jobs/{DOC_ID} HTTP/1.1", "status": 503}) + "\n"
    )
    code, report = observe([str(log)], report_dir=tmp_path / "log")
    assert code == 1 and _failed(report) == {"http.unknown-404"}
