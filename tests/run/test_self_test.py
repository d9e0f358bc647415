"""The suite proves itself: the reference passes, every catalogue fault is caught by its
requirement, and conforming-but-unusual servers pass. Each run is the real CLI in a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests_support import run_suite, statuses

from jobs_conformance.contract import load_contract
from jobs_conformance.reference.faults import FAULTS, VARIANTS
from jobs_conformance.reference.server import ReferenceServer

API_KEY = "self-test-key-7f3a9c"


def _ids_file(tmp_path: Path, server: ReferenceServer) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(server.job_ids()) + "\n")
    return path


def test_default_run_against_the_embedded_reference_passes_with_everything_checked(tmp_path):
    code, report, stdout, stderr = run_suite(report_dir=tmp_path / "reports")
    assert code == 0, stdout + stderr
    assert report["verdict"] == "pass"
    assert set(statuses(report).values()) == {"pass"}
    assert all(row["checked"] > 0 for row in report["requirements"])
    assert "verdict  PASS" in stdout


def _run_against(tmp_path: Path, *, faults=(), variants=(), strict=False):
    with ReferenceServer(
        faults=faults, variants=variants, api_key=API_KEY, allow_seeding=True
    ) as server:
        args = [
            "--base-url",
            server.base_url,
            "--job-ids-file",
            str(_ids_file(tmp_path, server)),
            "--header",
            f"X-Api-Key: {API_KEY}",
            "--seed-url",
            server.base_url + "/__seed/jobs",
        ]
        if strict:
            args.append("--strict")
        code, report, stdout, stderr = run_suite(*args, report_dir=tmp_path / "reports")
    assert report is not None, stdout + stderr
    return code, report, stdout + stderr


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_every_fault_is_detected_and_attributed(tmp_path, name):
    fault = FAULTS[name]
    catalogue = {r.id: r for r in load_contract().requirements}
    should_only = all(catalogue[r].severity == "should" for r in fault.requirements)
    code, report, output = _run_against(tmp_path, faults=[name], strict=should_only)
    assert code == 1, output
    assert report["verdict"] == "fail"
    failed = {r for r, status in statuses(report).items() if status == "fail"}
    assert fault.requirements <= failed, (
        f"{name}: labelled {sorted(fault.requirements)}, failed {sorted(failed)}"
    )
    for row in report["requirements"]:
        if row["id"] in fault.requirements:
            example = row["counterexamples"][0]
            assert example["request"]["method"] in ("GET", "PUT") and example["request"][
                "url"
            ].startswith("http://")
            assert isinstance(example["response"]["status"], int) and example["message"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_conforming_variants_pass(tmp_path, name):
    code, report, output = _run_against(tmp_path, variants=[name], strict=True)
    assert code == 0, output
    assert set(statuses(report).values()) == {"pass"}, output
