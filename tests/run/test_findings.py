"""Findings have stable ids: the same bug, the same id on another server, port and day;
two bugs under one requirement, two ids. Whole runs in this process (see test_self_test.py)."""

from __future__ import annotations

from tests_support import run_in_process

from jobs_conformance.reference.server import ReferenceServer

pytest_plugins = ["pytester"]


def _findings(pytester, server: ReferenceServer, name: str) -> tuple[dict, str]:
    ids = pytester.path / "ids.txt"
    ids.write_text("\n".join(server.job_ids()))
    code, report, output = run_in_process(
        pytester,
        "--base-url",
        server.base_url,
        "--conformance-job-ids-file",
        str(ids),
        report_dir=pytester.path / name,
    )
    assert code == 1, output
    return {f["id"]: f for f in report["findings"]}, (
        pytester.path / name / "junit.xml"
    ).read_text()


def test_the_same_bug_has_the_same_finding_ids_on_two_servers_and_two_bugs_two(pytester):
    # pydantic-uuid: braces, urn:uuid: and no hyphens accepted; three bugs of one requirement.
    with (
        ReferenceServer(faults=["pydantic-uuid"]) as one,
        ReferenceServer(faults=["pydantic-uuid"]) as two,
    ):
        assert one.base_url != two.base_url
        first, junit = _findings(pytester, one, "one")
        second, _ = _findings(pytester, two, "two")
    assert first.keys() == second.keys()
    assert {f["class"] for f in first.values()} == {"braces", "urn-prefix", "no-hyphens"}
    assert len(first) == 3 and all(f["requirement"] == "http.malformed-4xx" for f in first.values())
    assert all(f["status"] == "new" for f in first.values())
    # JUnit names them on the test that saw them.
    for finding in first:
        assert f'name="finding" value="{finding}"' in junit
