"""`replay` on real reports: a run against a faulty reference, then its findings sent again to
the same fault (still failing), to the clean reference (fixed), to a fault that fails every
other time (flaky); and the emitted regression tests, failing and passing the same way.
Whole runs in this process (see test_self_test.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from tests_support import run_in_process

from jobs_conformance.errors import ExitCode
from jobs_conformance.reference.server import ReferenceServer
from jobs_conformance.replay import add_parser, run_replay

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _no_target_from_the_environment(monkeypatch):
    # The report's target is the default; a PYTEST_BASE_URL of the machine would win over it.
    monkeypatch.delenv("PYTEST_BASE_URL", raising=False)


def _report(pytester, server: ReferenceServer, name: str) -> tuple[Path, dict]:
    """A run of the contract suite against ``server``, which must find something."""
    job_id = next(i for i in server.job_ids() if any(c.isalpha() for c in i))
    report_dir = pytester.path / name
    code, report, output = run_in_process(
        pytester,
        "--base-url",
        server.base_url,
        "--conformance-job-id",
        job_id,
        report_dir=report_dir,
    )
    assert code == ExitCode.VIOLATIONS, output
    assert report["findings"], output
    return report_dir / "conformance.json", report


def _replay(capsys, *argv: str) -> tuple[int, list[str]]:
    """``jobs-conformance replay ARGV``: its exit code and output lines."""
    parser = argparse.ArgumentParser(prog="jobs-conformance")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["replay", *argv])
    capsys.readouterr()  # what an in-process run before it printed
    code = args.handler(args)
    assert args.handler is run_replay
    return code, capsys.readouterr().out.splitlines()


def _run_emitted(pytester, test_file: Path, base_url: str) -> tuple[dict[str, int], str]:
    """``pytest -p jobs_conformance --base-url URL FILE``: the emitted test's outcomes, the output.

    The file runs alone: the plugin adds no contract suite, writes no record,
    and pytest's exit code is the test's verdict.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(pytester.path / ".hypothesis"))
        patch.delenv("PYTEST_ADDOPTS", raising=False)
        result = pytester.runpytest_inprocess(
            "-p",
            "jobs_conformance",
            "-p",
            "base_url",
            "-p",
            "no:cacheprovider",
            "--base-url",
            base_url,
            "--conformance-report-dir",
            str(pytester.path / "emitted-run"),
            str(test_file),
        )
    outcomes = result.parseoutcomes()
    counted = {k: v for k, v in outcomes.items() if k in ("passed", "failed", "skipped", "errors")}
    assert int(result.ret) == (1 if counted.get("failed") else 0)
    assert not (pytester.path / "emitted-run").exists(), "no record for a regression run"
    return counted, "\n".join(result.outlines)


def _file_order(finding: str) -> str:
    requirement, _, digest = finding.partition("#")
    return f"test_{requirement.replace('.', '_').replace('-', '_')}_{digest}.py"


def test_a_fault_still_fails_until_fixed_and_its_emitted_tests_say_the_same(pytester, capsys):
    with (
        ReferenceServer(faults=["case-sensitive-lookup"]) as faulty,
        ReferenceServer() as clean,
    ):
        path, report = _report(pytester, faulty, "faulty")
        ids = [f["id"] for f in report["findings"]]
        assert any(i.startswith("http.case-insensitive#") for i in ids)

        # The report's target is the faulty server: no --base-url needed.
        code, lines = _replay(capsys, "--all", "--from", str(path))
        assert code == ExitCode.VIOLATIONS
        assert [line.split("  ")[:2] for line in lines] == [[i, "STILL FAILING (3/3)"] for i in ids]

        emitted = pytester.path / "emitted"
        code, lines = _replay(
            capsys,
            *ids,
            "--from",
            str(path),
            "--base-url",
            clean.base_url,
            "--times",
            "2",
            "--emit-pytest",
            str(emitted),
        )
        assert code == ExitCode.CONFORMING
        assert [line.split("  ")[:2] for line in lines] == [[i, "FIXED"] for i in ids]

        files = sorted(emitted.glob("test_*.py"))
        assert [f.name for f in files] == sorted(_file_order(i) for i in ids)
        for test_file, finding in zip(files, sorted(ids, key=_file_order), strict=True):
            outcomes, output = _run_emitted(pytester, test_file, faulty.base_url)
            assert outcomes == {"failed": 1}, output
            assert f"AssertionError: {finding} reproduces: " in output
            outcomes, output = _run_emitted(pytester, test_file, clean.base_url)
            assert outcomes == {"passed": 1}, output


def test_a_finding_that_fails_every_other_time_is_flaky(pytester, capsys):
    with ReferenceServer(faults=["intermittent-500"]) as server:
        path, report = _report(pytester, server, "intermittent")
        assert {f["requirement"] for f in report["findings"]} == {"http.unknown-404"}
        code, lines = _replay(capsys, "--all", "--from", str(path))
    assert code == ExitCode.VIOLATIONS
    verdicts = [line.split("  ")[1] for line in lines]
    assert len(verdicts) == len(report["findings"])
    assert set(verdicts) <= {"FLAKY (1/3)", "FLAKY (2/3)"}, lines
