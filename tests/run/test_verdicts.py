"""Verdicts users can trust: one root cause is one finding under every profile, counts say
what happened, and ordinary usage (a seeded doc example, a wrong base path, a tracing
header) raises no alarm.

Whole runs against reference servers, in this process (see test_self_test.py).
"""

from __future__ import annotations

import re

import pytest
from tests_support import DOC_EXAMPLE, failed, run_against, run_in_process, statuses

from jobs_conformance.reference.server import ReferenceServer

pytest_plugins = ["pytester"]

DOC_ID = DOC_EXAMPLE["id"]


def _row(report: dict, requirement: str) -> dict:
    (row,) = [r for r in report["requirements"] if r["id"] == requirement]
    return row


def _run(pytester: pytest.Pytester, server: ReferenceServer, *args: str, job_ids=()):
    code, report, output = run_against(
        pytester, server, *args, job_ids=job_ids, report_dir=pytester.path / "reports"
    )
    assert report is not None, output
    return code, report, output


def test_a_case_bug_is_one_finding_under_the_thorough_profile_too(pytester):
    # Under ci, test_self_test.py's case-sensitive-lookup run shows the same.
    with ReferenceServer(faults=["case-sensitive-lookup"]) as server:
        ids = pytester.path / "ids.txt"
        ids.write_text("\n".join(server.job_ids()))
        code, report, output = _run(
            pytester,
            server,
            "--conformance-job-ids-file",
            str(ids),
            "--conformance-profile",
            "thorough",
        )
    assert code == 1, output
    assert failed(report) == {"http.case-insensitive"}, output


def test_a_held_id_declared_in_another_case_than_stored_is_a_case_finding_not_a_missing_job(
    pytester,
):
    # Stored in lower case, looked up byte for byte, declared in upper case:
    # the declared form is 404, its lower-case form 200.
    with ReferenceServer(faults=["case-sensitive-lookup"]) as server:
        lettered = [i for i in server.job_ids() if any(c.isalpha() for c in i)][:3]
        code, report, output = _run(pytester, server, job_ids=[i.upper() for i in lettered])
    assert code == 1, output
    assert failed(report) == {"http.case-insensitive"}, output
    messages = " ".join(
        c["message"] for c in _row(report, "http.case-insensitive")["counterexamples"]
    )
    assert lettered[0].upper() in messages and "was answered 404" in messages


def test_a_held_doc_example_id_is_no_alarm_declared_or_not(pytester):
    with ReferenceServer() as server:
        server.store.put(dict(DOC_EXAMPLE))
        other = server.job_ids()[0]
        for args in ((), ("--conformance-job-id", other)):
            code, report, output = _run(pytester, server, *args)
            assert code == 0, output
            assert statuses(report)["http.unknown-404"] == "pass"
    # And a server that fabricates a job for every id is still caught.
    with ReferenceServer(faults=["unknown-fabricated"]) as server:
        code, report, output = _run(pytester, server)
    assert code == 1 and failed(report) == {"http.unknown-404"}, output


def test_a_wrong_base_path_is_no_verdict_with_a_hint(pytester):
    with ReferenceServer() as server:
        root = server.base_url.removesuffix("/api/v2")
        code, report, output = run_in_process(
            pytester,
            "--base-url",
            root,
            "--conformance-job-id",
            server.job_ids()[0],
            "--conformance-job-id",
            server.job_ids()[1],
            report_dir=pytester.path / "reports",
        )
    assert code == 2, output
    assert report["verdict"] == "incomplete"
    assert "none of the 2 declared jobs was found" in output
    assert f"{root}/api/v2/jobs/{{jobId}}" in output and "404" in output
    # Nothing was judged about the job schema, and nothing failed.
    assert statuses(report)["body.json"] == "not-checked"
    assert failed(report) == set()


KEY = "declared-key-5b1e"


@pytest.mark.parametrize(
    ("api_key", "faults", "header", "declared", "code", "auth"),
    [
        # No authentication documented, none declared: headers are just sent.
        (None, (), "X-Request-Id: trace-7f3a", (), 0, "not-checked"),
        (None, (), "X-Api-Key: key-the-server-ignores", (), 0, "not-checked"),
        # Declared: a server that enforces it passes, one that ignores it fails.
        (KEY, (), f"X-Api-Key: {KEY}", ("X-Api-Key",), 0, "pass"),
        (KEY, ("auth-absent-skipped",), f"X-Api-Key: {KEY}", ("X-Api-Key",), 1, "fail"),
    ],
    ids=["tracing-header", "ignored-key", "enforced", "not-enforced"],
)
def test_credentials_are_checked_only_for_a_declared_header(
    pytester, api_key, faults, header, declared, code, auth
):
    declare = [a for name in declared for a in ("--conformance-auth-header", name)]
    with ReferenceServer(api_key=api_key, faults=faults) as server:
        got, report, output = _run(
            pytester,
            server,
            "--conformance-header",
            header,
            *declare,
            job_ids=server.job_ids()[:1],
        )
    assert got == code, output
    assert failed(report) == ({"auth.required"} if auth == "fail" else set())
    row = _row(report, "auth.required")
    assert row["status"] == auth
    if auth == "not-checked":
        assert "--conformance-auth-header" in row["reason"]


def test_twelve_wrong_bodies_of_fifteen_read_twelve_failed_of_fifteen_checked(pytester):
    with ReferenceServer(faults=["ts-offset"]) as server:
        stamped = [
            i
            for i in server.job_ids()
            if all(isinstance(server.store.get(i)[k], str) for k in ("createdAt", "updatedAt"))
        ][:12]
        unstamped = [f"3c90c3cc-0d44-4b50-8888-{n:012d}" for n in range(3)]
        for job_id in unstamped:
            server.store.put({**DOC_EXAMPLE, "id": job_id, "createdAt": None, "updatedAt": None})
        code, report, output = _run(pytester, server, job_ids=[*stamped, *unstamped])
    assert code == 1 and failed(report) == {"body.datetime"}, output
    row = _row(report, "body.datetime")
    assert (row["failed"], row["checked"]) == (12, 15)
    assert {c["class"]: c["count"] for c in row["counterexamples"]} == {
        "createdAt: offset": 12,
        "updatedAt: offset": 12,
    }
    assert re.search(r"body\.datetime +must +fail +15 +12 +2\n", output), output
    markdown = (pytester.path / "reports" / "conformance.md").read_text()
    assert "12 of 15 examples failed" in markdown
