"""The pytest plugin is a guest: inert unless loaded, and then it leaves a project's own tests alone."""

from __future__ import annotations

import json

import pytest
from tests_support import PLUGIN_ARGS

from jobs_conformance.reference.server import ReferenceServer

pytest_plugins = ["pytester"]

# Never contacted: collection and usage errors happen before any request.
NOWHERE = "http://127.0.0.1:9/api/v2"

PROJECT_CONFTEST = """
import pytest

@pytest.fixture
def client():
    return "the project's own client"
"""
PROJECT_TESTS = """
def test_first(client):
    assert client == "the project's own client"

def test_second():
    assert {failing}
"""


@pytest.fixture
def project(pytester):
    """A project with its own ``client`` fixture and two tests, one of which may fail."""
    pytester.makeconftest(PROJECT_CONFTEST)

    def make(*, failing: bool = False):
        pytester.makepyfile(test_project=PROJECT_TESTS.format(failing=not failing))

    return make


def test_without_the_plugin_a_session_has_no_conformance_options_and_no_suite(pytester, project):
    project()
    help_text = pytester.runpytest_inprocess("--help").stdout.str()
    assert "--base-url" in help_text  # pytest-base-url is loaded: the check below can fail
    assert "--conformance-" not in help_text and "jobs-conformance" not in help_text
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-p", "no:randomly")
    collected = [line for line in result.outlines if "::" in line]
    assert collected == ["test_project.py::test_first", "test_project.py::test_second"]


def test_with_the_plugin_the_suite_follows_the_projects_tests_in_their_order(pytester, project):
    project()
    result = pytester.runpytest_inprocess(
        "-p", "jobs_conformance", "-p", "no:randomly", "--base-url", NOWHERE, "--collect-only", "-q"
    )
    collected = [line for line in result.outlines if "::" in line]
    assert collected[:2] == ["test_project.py::test_first", "test_project.py::test_second"]
    suite = collected[2:]
    # Every contract module but schemathesis's (only with --schemathesis), nothing else.
    modules = {line.split("::", 1)[0].rsplit("/", 1)[-1] for line in suite}
    assert modules == {"test_auth.py", "test_ids.py", "test_known_jobs.py", "test_seed.py"}


@pytest.mark.parametrize(
    "suite_first",
    [False, True],
    ids=["suite-appended-by-the-plugin", "suite-named-first"],
)
def test_a_projects_client_is_not_shadowed_and_its_failure_decides_the_exit_code(
    pytester, project, monkeypatch, suite_first
):
    project(failing=True)
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(pytester.path / ".hypothesis"))
    named = ["--pyargs", "jobs_conformance.contract_tests"] if suite_first else []
    with ReferenceServer() as server:
        result = pytester.runpytest_inprocess(
            "-p",
            "jobs_conformance",
            "-p",
            "no:randomly",
            "-rA",
            "--base-url",
            server.base_url,
            "--conformance-job-id",
            server.job_ids()[0],
            "--conformance-report-dir",
            str(pytester.path / "r"),
            *named,
            "test_project.py",
        )
    report = json.loads((pytester.path / "r" / "conformance.json").read_text())
    output = result.stdout.str()
    assert report["verdict"] == "pass", output
    assert "PASSED test_project.py::test_first" in output
    assert "FAILED test_project.py::test_second" in output
    assert result.ret == 1


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--conformance-timeout", "abc"], "--conformance-timeout"),
        (["--conformance-job-id", "not-a-uuid"], "--conformance-job-id"),
        (["--base-url", "ftp://example.com"], "--base-url"),
    ],
)
def test_a_usage_error_names_the_pytest_option_and_exits_4(pytester, args, named):
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, *args)
    assert result.ret == 4
    assert f"jobs-conformance: {named}:" in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_ini_headers_are_one_a_line_and_a_bad_one_is_never_echoed(pytester):
    secret = "s3cr3t value-91c2"
    pytester.makeini(
        f"""
        [pytest]
        jobs_conformance_header =
            X-Api-Key: {secret}
            {secret}
        """
    )
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--base-url", NOWHERE)
    output = "\n".join(result.outlines + result.errlines)
    assert result.ret == 4, output
    assert "ini jobs_conformance_header" in output
    assert "s3cr3t" not in output
