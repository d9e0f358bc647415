"""Hooks of the suite's own test sessions (tests/ except tests/contract).

The contract suite in tests/contract belongs to the plugin: it is collected
only in a session that loaded it (``pytest -p jobs_conformance``,
``jobs-conformance run``), never as one of the suite's own tests. In an
editable install this file is also loaded by such sessions (it sits above
the suite), so it imports nothing from tests/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from jobs_conformance.fixtures import conformance_session
from jobs_conformance.profiles import PROFILE_NAMES

_CONTRACT = Path(__file__).resolve().parent / "tests" / "contract"


def pytest_configure(config: pytest.Config) -> None:
    # The suite's own property tests run derandomized, like a conformance
    # run: a CI gate that flips between runs is worse than none. Not in a
    # conformance session, which loads this file too from an editable
    # install, and must leave a project's own Hypothesis settings alone.
    if not config.pluginmanager.has_plugin("jobs_conformance.plugin"):
        settings.load_profile(PROFILE_NAMES["ci"])


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook; absent where xdist is off
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    # `-n auto`: a good part of the suite's time is waiting (rate limits,
    # Retry-After, timeouts, signals), not computing; one worker more than
    # there are cores keeps the cores busy meanwhile (2 cores: 97 s with 2
    # workers, 87 s with 3, 90 s with 4).
    return (os.cpu_count() or 1) + 1


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path == _CONTRACT and conformance_session(config) is None:
        return True
    return None
