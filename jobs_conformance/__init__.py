"""jobs-conformance: contract tests for ``GET /jobs/{jobId}``."""

from __future__ import annotations

from jobs_conformance.contract import Contract, Requirement, load_contract
from jobs_conformance.errors import ExitCode, SuiteError, TargetUnreachable, UsageError
from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent
from jobs_conformance.oracle import Judgement, Violation, judge, judge_body

__version__ = "0.1.0"

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
