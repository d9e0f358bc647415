"""How this tool starts itself in a subprocess (the embedded reference, tests, benchmarks)."""

from __future__ import annotations

import sys

__all__ = ["command_line"]


def command_line(*args: str) -> list[str]:
    """``jobs-conformance ARGS`` as a command line for a subprocess, run by this interpreter.

    ``-m`` and ``sys.executable``, not the console script on PATH: the
    subprocess gets the same environment whatever PATH holds.
    """
    return [sys.executable, "-m", "jobs_conformance", *args]
