"""jobs-conformance: contract tests for ``GET /jobs/{jobId}``.

``pytest -p jobs_conformance`` (or ``pytest_plugins = ["jobs_conformance"]``)
loads the pytest plugin through :data:`pytest_plugins` below; importing the
package does nothing of the kind, and no entry point loads it.
"""

from __future__ import annotations

from jobs_conformance.contract import Contract, Requirement, load_contract
from jobs_conformance.errors import ExitCode, SuiteError, TargetUnreachable, UsageError
from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent
from jobs_conformance.oracle import Judgement, Violation, judge, judge_body

__version__ = "0.1.0"

# Read by pytest when this package is loaded as a plugin (-p jobs_conformance).
pytest_plugins = ("jobs_conformance.plugin",)

__all__ = [
    "Contract",
    "Exchange",
    "ExitCode",
    "HttpRequest",
    "HttpResponse",
    "Intent",
    "Judgement",
    "Requirement",
    "SuiteError",
    "TargetUnreachable",
    "UsageError",
    "Violation",
    "__version__",
    "judge",
    "judge_body",
    "load_contract",
]
