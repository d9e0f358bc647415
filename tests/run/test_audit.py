"""audit: every listed job judged against a reference server, findings streamed, resumable."""

from __future__ import annotations

import io
import json
import sys
import uuid

import pytest
from tests_support import DOC_EXAMPLE

from jobs_conformance.cli import main as cli
from jobs_conformance.reference.server import ReferenceServer

JOBS, FAULTY = 240, 12


@pytest.fixture(scope="module")
def service():
    """A reference holding JOBS more jobs, FAULTY of them with +00:00 offsets; the GETs counted."""
    server = ReferenceServer()
    asked: list[str] = []
    app = server.app

    def counting(environ, start_response):
        asked.append(environ.get("PATH_INFO", "").rsplit("/", 1)[-1])
        return app(environ, start_response)

    server.app = counting
    ids = [str(uuid.UUID(int=n, version=4)) for n in range(1, JOBS + 1)]
    for n, job_id in enumerate(ids):
        stamp = "2024-02-29T00:00:00+00:00" if n % (JOBS // FAULTY) == 0 else "2024-02-29T00:00:00Z"
        server.store.put({**DOC_EXAMPLE, "id": job_id, "createdAt": stamp, "updatedAt": stamp})
    faulty = {i for n, i in enumerate(ids) if n % (JOBS // FAULTY) == 0}
    with server:
        yield server, ids, faulty, asked


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _audit(tmp_path, server, source: str, *extra: str) -> int:
    return cli(
        [
            "audit",
            "--base-url",
            server.base_url,
            "--job-ids-file",
            source,
            "--report-dir",
            str(tmp_path / "r"),
            "--workers",
            "4",
            *extra,
        ]
    )


def test_every_listed_job_is_judged_and_exactly_the_faulty_ones_are_reported(tmp_path, service):
    server, ids, faulty, _ = service
    listed = tmp_path / "ids.txt"
    listed.write_text("# every job we hold\n" + "\n".join(ids) + "\nnot-an-id\n")
    assert _audit(tmp_path, server, str(listed)) == 1
    records = _records(tmp_path / "r" / "audit.ndjson")
    reported = {r["job"] for r in records if "findings" in r}
    assert reported == faulty
    assert [r["job"] for r in records if "error" in r] == ["not-an-id"]
    assert records[-1] == {"checkpoint": JOBS + 1}
    report = json.loads((tmp_path / "r" / "conformance.json").read_text())
    assert report["audit"]["jobs"] == JOBS + 1
    (finding,) = [f for f in report["findings"] if f["class"] == "createdAt: offset"]
    assert finding["count"] == FAULTY
    assert set(report["audit"]["samples"][finding["id"]]) <= faulty


def test_an_interrupted_audit_resumes_without_judging_a_job_twice_or_missing_one(tmp_path, service):
    server, ids, faulty, asked = service
    listed = tmp_path / "ids.txt"
    listed.write_text("\n".join(ids) + "\n")
    assert _audit(tmp_path, server, str(listed)) == 1
    record = tmp_path / "r" / "audit.ndjson"
    lines = record.read_text().splitlines()
    # Killed after the first checkpoint, half-way through writing the next round.
    first = next(n for n, line in enumerate(lines) if "checkpoint" in line)
    done = json.loads(lines[first])["checkpoint"]
    record.write_text("\n".join(lines[: first + 1]) + "\n" + lines[first + 1][:10])
    before = len(asked)
    assert _audit(tmp_path, server, str(listed), "--resume") == 1
    resumed = asked[before:]
    assert sorted(resumed) == sorted(ids[done:]), "only the rest was asked for, once each"
    records = _records(record)
    assert {r["job"] for r in records if "findings" in r} == faulty
    jobs = [r["job"] for r in records if "job" in r]
    assert len(jobs) == len(set(jobs)), "no job is recorded twice"
    assert records[-1] == {"checkpoint": JOBS}


def test_ids_from_stdin(tmp_path, service, monkeypatch):
    server, ids, faulty, _ = service
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(ids[:20]) + "\n"))
    code = _audit(tmp_path, server, "-")
    records = _records(tmp_path / "r" / "audit.ndjson")
    assert records[-1] == {"checkpoint": 20}
    assert code == (1 if faulty & set(ids[:20]) else 0)
    assert cli(["audit", "--job-ids-file", "-"]) == 4  # no --base-url
