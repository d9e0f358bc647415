"""`pytest -n auto` (pytest-xdist) gives the same verdict as a serial run, in one merged report."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jobs_conformance.contract import contract_tests_dir
from jobs_conformance.reference.server import ReferenceServer

CONTRACT_TESTS = contract_tests_dir()


def _pytest(report_dir, *args):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(CONTRACT_TESTS),
            "-q",
            "-p",
            "no:cacheprovider",
            "--report-dir",
            str(report_dir),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=CONTRACT_TESTS.parent.parent,
    )
    report = json.loads((report_dir / "conformance.json").read_text())
    return result.returncode, report


def _failed(report):
    return {row["id"] for row in report["requirements"] if row["status"] == "fail"}


@pytest.mark.parametrize(
    "faults", [[], ["ts-offset", "python-dollar"]], ids=["conforming", "faulty"]
)
def test_xdist_and_serial_runs_agree(tmp_path, faults):
    with ReferenceServer(faults=faults) as server:
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(server.job_ids()))
        args = ["--base-url", server.base_url, "--job-ids-file", str(ids)]
        serial_code, serial = _pytest(tmp_path / "serial", *args)
        parallel_code, parallel = _pytest(tmp_path / "parallel", *args, "-n", "2")
    assert serial_code == parallel_code == (1 if faults else 0)
    assert serial["verdict"] == parallel["verdict"]
    assert _failed(serial) == _failed(parallel)
    assert {row["id"]: row["status"] for row in serial["requirements"]} == {
        row["id"]: row["status"] for row in parallel["requirements"]
    }
    assert parallel["requests_sent"] > 0
