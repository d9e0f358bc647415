"""Installed beside pytest-timeout, -randomly, -rerunfailures and -cov, jobs-conformance changes nothing.

Done when: "A test installs pytest-timeout, pytest-randomly,
pytest-rerunfailures and pytest-cov beside the package and shows that an
unrelated project (a plain test and a Hypothesis test that prints its
effective settings) produces the same settings, outcomes and output with and
without jobs-conformance installed; and that the conformance run still works
with those plugins present." The second half is test_wheel.py's run: its
venv holds the same four plugins.

How "without" is made. The test environment has jobs-conformance installed
editable, and a venv made with ``--system-site-packages`` would see it: its
``.pth`` puts a finder on ``sys.meta_path`` and its dist-info stays visible
to ``importlib.metadata``, so hiding it there (a finder that refuses the
name, ``sys.modules`` entries of None) would leave half of it installed.
Instead both environments are overlays (``_venvs.overlay_venv``): a venv
without the system site-packages whose site-packages links every entry of
the test environment's except the files jobs-conformance's RECORD lists
(what ``pip uninstall`` removes). "Without" is that overlay; "with" is the
same overlay with the wheel installed by pip, not editable. The plugins,
Hypothesis and the other ``.pth`` files are the same links in both, so the
one difference between them is the wheel; the test checks both sides of it
(no module, no distribution, no script without; the wheel's files with).
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

from _venvs import PLUGINS, child_env, described, python, run

_PROJECT = {
    "pyproject.toml": """\
[project]
name = "unrelated"
version = "1.0"

[tool.pytest.ini_options]
testpaths = ["tests"]
""",
    "tests/test_plain.py": """\
def test_plain():
    assert sorted([3, 1, 2]) == [1, 2, 3]
""",
    "tests/test_property.py": """\
import json

import pytest
from hypothesis import given, settings, strategies as st

examples = []


def _described(s):
    return {
        "max_examples": s.max_examples,
        "derandomize": s.derandomize,
        "database": repr(s.database),
        "deadline": str(s.deadline),
        "phases": [p.name for p in s.phases],
        "verbosity": s.verbosity.name,
        "suppress_health_check": sorted(h.name for h in s.suppress_health_check),
        "report_multiple_bugs": s.report_multiple_bugs,
    }


@pytest.fixture(scope="module", autouse=True)
def count_examples():
    yield
    print(f"EXAMPLES {len(examples)}")


@given(st.integers())
def test_property(n):
    if not examples:
        effective = {
            "profile": settings.get_current_profile_name(),
            "default": _described(settings.default),
            "test": _described(test_property._hypothesis_internal_use_settings),
        }
        print("EFFECTIVE " + json.dumps(effective, sort_keys=True))
    examples.append(n)
    assert n - n == 0
""",
}

# Inside each venv: is jobs-conformance importable, is it a distribution, from where.
_PROBE = """
import importlib.metadata, importlib.util, json
spec = importlib.util.find_spec("jobs_conformance")
try:
    dist = str(importlib.metadata.distribution("jobs-conformance").locate_file(""))
except importlib.metadata.PackageNotFoundError:
    dist = None
print(json.dumps({"origin": spec and spec.origin, "dist": dist}))
"""

_DURATION = re.compile(r"\b\d+(\.\d+)?s\b( \(\d+:\d\d:\d\d\))?")


def _write_project(folder: Path) -> Path:
    for name, text in _PROJECT.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _normalised(text: str, *, venv: Path, root: Path) -> str:
    """``text`` with this side's paths and the run's durations replaced by placeholders."""
    text = text.replace(str(venv), "<venv>").replace(str(root), "<root>")
    return _DURATION.sub("<duration>", text)


def _same(without: str, with_: str, what: str) -> str:
    """An assertion message: the unified diff of the two sides."""
    diff = difflib.unified_diff(
        without.splitlines(), with_.splitlines(), "without", "with", lineterm=""
    )
    return f"{what} differs:\n" + "\n".join(diff)


def _effective(output: str) -> dict:
    """What the Hypothesis test printed about its settings (once, on its first example)."""
    (printed,) = re.findall(r"EFFECTIVE (\{.*\})", output)
    return json.loads(printed)


def test_an_unrelated_project_runs_the_same_with_and_without_jobs_conformance(
    venv_with, venv_without, tmp_path
):
    runs: dict[str, dict[str, str]] = {}
    for side, venv in (("without", venv_without), ("with", venv_with)):
        root = tmp_path / side
        home, project = root / "home", _write_project(root / "project")
        home.mkdir()
        env = child_env(home)

        probe = run([python(venv), "-c", _PROBE], cwd=project, env=env)
        assert probe.returncode == 0, described(probe)
        found = json.loads(probe.stdout)
        if side == "without":
            assert found == {"origin": None, "dist": None}
            assert not (venv / "bin" / "jobs-conformance").exists()
        else:
            assert Path(found["origin"]).is_relative_to(venv), found
            assert Path(found["dist"]).is_relative_to(venv), found

        # pytest-randomly is on, as installed: its seed is fixed so both
        # sides run the tests in one order.
        tests = run(
            [python(venv), "-m", "pytest", "-v", "-s", "-rA", "--randomly-seed=1234"],
            cwd=project,
            env=env,
        )
        assert tests.returncode == 0, described(tests)
        runs[side] = {
            "output": _normalised(tests.stdout + tests.stderr, venv=venv, root=root),
            "files": "\n".join(
                p.relative_to(project).as_posix()
                for p in sorted(project.rglob("*"))
                if "__pycache__" not in p.parts
            ),
        }

    without, with_ = runs["without"], runs["with"]
    effective = _effective(without["output"])
    # The project's own Hypothesis settings: the default profile, its example
    # database in the project (not the contract suite's "ci" profile).
    assert effective["profile"] == "default"
    assert effective["default"]["max_examples"] == 100
    assert effective["default"]["derandomize"] is False
    assert "<root>/project/.hypothesis" in effective["default"]["database"]
    assert effective["test"] == effective["default"]
    assert _effective(with_["output"]) == effective

    outcomes = re.findall(
        r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)", without["output"], re.M
    )
    assert sorted(outcomes) == [
        ("PASSED", "tests/test_plain.py::test_plain"),
        ("PASSED", "tests/test_property.py::test_property"),
    ]
    assert re.findall(r"EXAMPLES (\d+)", without["output"]) == ["100"]
    (plugins,) = [line for line in without["output"].splitlines() if line.startswith("plugins:")]
    for name in PLUGINS:
        assert f" {name}-" in plugins, plugins
    assert "Using --randomly-seed=1234" in without["output"]

    assert with_["output"] == without["output"], _same(without["output"], with_["output"], "output")
    assert with_["files"] == without["files"], _same(without["files"], with_["files"], "files left")
