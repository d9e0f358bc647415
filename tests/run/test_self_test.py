"""The suite proves itself: the reference passes, every catalogue fault is caught by its
requirement, and conforming-but-unusual servers pass.

Each case is one whole run of the contract suite (``pytest -p jobs_conformance``,
what ``jobs-conformance run`` starts) against a reference server with one
behaviour, so a failure is attributed to that fault alone. The runs happen in
this process (pytester): a subprocess would add the interpreter's start,
about 1.5 s of each 2.5 s run, and prove nothing more; the CLI's own
translation to that session is tested in test_run_command.py.
"""

from __future__ import annotations

import pytest
from tests_support import run_in_process, statuses

from jobs_conformance.contract import load_contract, spec_data
from jobs_conformance.reference.faults import FAULTS, VARIANTS
from jobs_conformance.reference.server import ReferenceServer

pytest_plugins = ["pytester"]

API_KEY = "self-test-key-7f3a9c"
SEVERITY = {r.id: r.severity for r in load_contract().requirements}


def accepted_forms(parser: str) -> set[str]:
    """The near-miss forms spec/near-misses.yaml says ``parser`` reads as the held id."""
    entries = spec_data("near-misses.yaml")["near_misses"]
    return {entry["kind"] for entry in entries if parser in entry["parsers"]}


def test_default_run_against_the_embedded_reference_passes_with_everything_checked(pytester):
    code, report, output = run_in_process(pytester, report_dir=pytester.path / "reports")
    assert code == 0, output
    assert report["verdict"] == "pass"
    assert set(statuses(report).values()) == {"pass"}
    assert all(row["checked"] > 0 for row in report["requirements"])
    assert "verdict  PASS" in output


def _run_against(pytester: pytest.Pytester, *, faults=(), variants=(), strict=False):
    with ReferenceServer(
        faults=faults, variants=variants, api_key=API_KEY, allow_seeding=True
    ) as server:
        ids = pytester.path / "ids.txt"
        ids.write_text("\n".join(server.job_ids()) + "\n")
        args = [
            "--base-url",
            server.base_url,
            "--conformance-job-ids-file",
            str(ids),
            "--conformance-header",
            f"X-Api-Key: {API_KEY}",
            "--conformance-auth-header",
            "X-Api-Key",
            "--conformance-seed-url",
            server.base_url + "/__seed/jobs",
        ]
        if strict:
            args.append("--conformance-strict")
        code, report, output = run_in_process(pytester, *args, report_dir=pytester.path / "reports")
    assert report is not None, output
    return code, report, output


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_every_fault_is_detected_and_attributed(pytester, name):
    fault = FAULTS[name]
    # A fault that breaks only should-level requirements fails a --strict run.
    should_only = all(SEVERITY[r] == "should" for r in fault.requirements)
    code, report, output = _run_against(pytester, faults=[name], strict=should_only)
    assert code == 1, output
    assert report["verdict"] == "fail"
    failed = {r for r, status in statuses(report).items() if status == "fail"}
    assert failed == fault.requirements, (
        f"{name}: labelled {sorted(fault.requirements)}, failed {sorted(failed)}"
    )
    for row in report["requirements"]:
        if row["id"] in fault.requirements:
            example = row["counterexamples"][0]
            assert example["request"]["method"] in ("GET", "PUT")
            assert example["request"]["url"].startswith("http://")
            assert isinstance(example["response"]["status"], int) and example["message"]
    if fault.parser is not None:
        # Every form the parser reads as a held id, shown in this one run.
        (row,) = [r for r in report["requirements"] if r["id"] == "http.malformed-4xx"]
        shown = {example["class"] for example in row["counterexamples"]}
        assert accepted_forms(fault.parser) <= shown, row["counterexamples"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_conforming_variants_pass(pytester, name):
    code, report, output = _run_against(pytester, variants=[name], strict=True)
    assert code == 0, output
    assert set(statuses(report).values()) == {"pass"}, output
