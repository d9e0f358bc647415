"""The wheel, built from a clean checkout and installed (not editable) in a fresh venv, runs both ways.

Done when: "A test builds the wheel from a clean checkout, installs it (not
editable) into a fresh venv, and from an empty temporary directory:
`jobs-conformance run` exits 0 against the embedded reference, and the
documented pytest opt-in against a started `jobs-conformance serve` gives
the same verdict, requirement by requirement. After the run the directory
holds only the report folder."
"""

from __future__ import annotations

import configparser
import json
import zipfile
from pathlib import Path

from _venvs import (
    PLUGINS,
    REPO,
    child_env,
    corpus_ids,
    described,
    entries,
    python,
    report_statuses,
    requirement_ids,
    run,
    serve,
)

# Where each top-level folder of the checkout lands in the wheel (pyproject's package-dir).
_MAPPED = {
    "jobs_conformance": "jobs_conformance",
    "spec": "jobs_conformance/spec",
    "strategies": "jobs_conformance/strategies",
    "tests/contract": "jobs_conformance/contract_tests",
}

# Run inside the venv: where each package is imported from, and what pip recorded.
_PROBE = """
import importlib.metadata, json, sysconfig
import jobs_conformance, jobs_conformance.contract_tests, jobs_conformance.spec, jobs_conformance.strategies
dist = importlib.metadata.distribution("jobs-conformance")
print(json.dumps({
    "files": {m.__name__: m.__file__ for m in (
        jobs_conformance, jobs_conformance.contract_tests, jobs_conformance.spec,
        jobs_conformance.strategies)},
    "dist": str(dist.locate_file("")),
    "direct_url": json.loads(dist.read_text("direct_url.json") or "{}"),
    "purelib": sysconfig.get_path("purelib"),
}))
"""


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def test_the_wheel_carries_spec_strategies_and_contract_tests_inside_its_one_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
    # No top-level `spec`, `strategies` or `tests` to clash with other projects' modules.
    assert {n.split("/")[0] for n in names} == {"jobs_conformance", dist_info}

    checkout = wheel.parent.parent / "src"
    expected = set()
    for folder, package in _MAPPED.items():
        for path in (checkout / folder).rglob("*"):
            if path.is_file():
                expected.add(f"{package}/{path.relative_to(checkout / folder).as_posix()}")
    assert "jobs_conformance/spec/openapi.yaml" in expected
    assert "jobs_conformance/contract_tests/test_ids.py" in expected
    assert sorted(expected - names) == [], "tracked files the wheel leaves out"

    entry_points = configparser.ConfigParser()
    entry_points.read_string(zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode())
    # No pytest11 entry point: the plugin loads only where a session asks for it.
    assert entry_points.sections() == ["console_scripts"]
    assert (
        entry_points["console_scripts"]["jobs-conformance"] == "jobs_conformance.cli:console_main"
    )


def test_the_installed_wheel_gives_one_verdict_through_run_and_through_pytest(venv_with, tmp_path):
    # A fresh venv with the wheel installed by pip (not editable), beside the
    # test environment's packages, pytest-timeout, -randomly, -rerunfailures
    # and -cov among them: the conformance run works with those plugins present.
    venv = venv_with
    home, run_dir, opt_in_dir, serve_dir = (
        tmp_path / n for n in ("home", "run", "opt-in", "serve")
    )
    for folder in (home, run_dir, opt_in_dir, serve_dir):
        folder.mkdir()
    env = child_env(home)

    # The venv sees the test environment, where jobs-conformance is installed
    # editable from this checkout: it must import the wheel's copy instead.
    probe = run([python(venv), "-c", _PROBE], cwd=run_dir, env=env)
    assert probe.returncode == 0, described(probe)
    found = json.loads(probe.stdout)
    for module, file in found["files"].items():
        assert _inside(Path(file), venv) and not _inside(Path(file), REPO), (module, file)
    assert _inside(Path(found["dist"]), venv), found["dist"]
    assert not found["direct_url"].get("dir_info", {}).get("editable"), found["direct_url"]
    package = Path(found["purelib"]) / "jobs_conformance"
    assert (package / "spec" / "openapi.yaml").is_file()
    assert (package / "contract_tests" / "test_ids.py").is_file()
    assert run_dir.exists() and entries(run_dir) == []

    # After `--`, arguments go to pytest: pytest-timeout's own --timeout is
    # reachable beside the run's --timeout (seconds per request).
    embedded = run(
        [venv / "bin" / "jobs-conformance", "run", "--timeout", "20", "--", "--timeout", "120"],
        cwd=run_dir,
        env=env,
    )
    assert embedded.returncode == 0, described(embedded)
    assert entries(run_dir) == ["reports"], described(embedded)

    # The embedded reference requires an API key and allows seeding, and the
    # run knows its corpus: the served one is given the same, so both runs
    # check every requirement.
    ids_file = tmp_path / "corpus-ids.txt"
    ids_file.write_text("\n".join(corpus_ids()) + "\n", encoding="utf-8")
    key = "packaging-test-key"
    with serve(
        venv, "--allow-seeding", cwd=serve_dir, env=child_env(home, JOBS_REFERENCE_API_KEY=key)
    ) as served:
        opt_in = run(
            [
                python(venv),
                "-m",
                "pytest",
                "-p",
                "jobs_conformance",
                # pytest's cache and pytest-benchmark's ./.benchmarks (installed
                # here, though no dependency of ours) write to the working directory.
                "-p",
                "no:cacheprovider",
                "-p",
                "no:benchmark",
                # pytest-timeout's bare --timeout beside the plugin's options.
                "--timeout",
                "30",
                "--base-url",
                served.base_url,
                "--conformance-header",
                f"X-Api-Key: {key}",
                "--conformance-auth-header",
                "X-Api-Key",
                "--conformance-seed-url",
                f"{served.base_url}/__seed/jobs",
                "--conformance-job-ids-file",
                str(ids_file),
            ],
            cwd=opt_in_dir,
            env=env,
        )
    assert served.process.returncode == 0, "serve stops cleanly on SIGTERM"
    assert opt_in.returncode == 0, described(opt_in)
    assert entries(opt_in_dir) == ["reports"], described(opt_in)
    assert entries(serve_dir) == []

    verdict, by_run = report_statuses(run_dir / "reports")
    opt_in_verdict, by_pytest = report_statuses(opt_in_dir / "reports")
    assert (verdict, opt_in_verdict) == ("pass", "pass")
    assert set(by_run) == requirement_ids()
    assert by_pytest == by_run
    assert set(by_run.values()) == {"pass"}, by_run
    (plugins,) = [line for line in opt_in.stdout.splitlines() if line.startswith("plugins:")]
    for name in PLUGINS:
        assert f" {name}-" in plugins, plugins
    assert "timeout: 30.0s" in opt_in.stdout
