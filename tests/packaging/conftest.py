"""The wheel and the two overlay environments, built once per run and shared by pytest-xdist workers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _venvs import build_wheel, built_once, install_wheel, overlay_venv


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every pytest-xdist worker of this run sees (the workers' common base)."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@pytest.fixture(scope="session")
def wheel(shared_root: Path) -> Path:
    """jobs-conformance's wheel, built offline from a clean checkout."""
    folder = built_once(shared_root, "jobs-conformance-wheel", build_wheel)
    (path,) = (folder / "dist").glob("jobs_conformance-*.whl")
    return path


@pytest.fixture(scope="session")
def venv_without(shared_root: Path) -> Path:
    """The test environment (its plugins, Hypothesis, ...) without jobs-conformance."""
    folder = built_once(shared_root, "venv-without", lambda f: overlay_venv(f / "venv"))
    return folder / "venv"


@pytest.fixture(scope="session")
def venv_with(shared_root: Path, wheel: Path) -> Path:
    """The same environment with jobs-conformance installed from the wheel (not editable)."""

    def build(folder: Path) -> None:
        install_wheel(overlay_venv(folder / "venv"), wheel)

    return built_once(shared_root, "venv-with", build) / "venv"
