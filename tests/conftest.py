"""Fixtures shared by the suite's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests_support import SHARED


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (doc page, peer vectors); tests that need it skip, saying why, when absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the doc page and peer vectors live there (CI has it)")
    return SHARED
