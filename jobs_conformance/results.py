"""Per-requirement outcomes of a run, and the counterexamples behind them.

Tests hand every judged exchange to :class:`Results`. Inside a Hypothesis
test the same requirement fails many times while Hypothesis shrinks; only the
*last* failing exchange of each (test, requirement) is kept, and Hypothesis
replays the minimal example last, so that is the shrunk counterexample.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from jobs_conformance.contract import Contract, Requirement, counts
from jobs_conformance.exchange import Exchange
from jobs_conformance.oracle import Judgement, Violation

__all__ = ["Counterexample", "RequirementResult", "Results"]

MAX_COUNTEREXAMPLES = 5


@dataclass(frozen=True)
class Counterexample:
    """One failing exchange, as the report shows it."""

    request: dict[str, Any]
    response: dict[str, Any]
    message: str
    pointer: str
    test: str

    @classmethod
    def of(cls, exchange: Exchange, violation: Violation, test: str) -> Counterexample:
        request = (
            exchange.request.to_dict()
            if exchange.request
            else {"method": None, "url": None, "headers": {}}
        )
        return cls(request, exchange.response.to_dict(), violation.message, violation.pointer, test)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "response": self.response,
            "message": self.message,
            "pointer": self.pointer,
            "test": self.test,
        }


@dataclass
class RequirementResult:
    """What the run learnt about one requirement."""

    requirement: Requirement
    checked: int = 0
    failures: int = 0
    counterexamples: list[Counterexample] = field(default_factory=list)
    reason: str | None = None

    def add_example(self, example: Counterexample) -> None:
        """Keep ``example`` unless the cap is reached or its message is already shown."""
        if len(self.counterexamples) < MAX_COUNTEREXAMPLES and all(
            c.message != example.message for c in self.counterexamples
        ):
            self.counterexamples.append(example)

    @property
    def status(self) -> str:
        if self.failures:
            return "fail"
        return "pass" if self.checked else "not-checked"


class Results:
    """Thread-safe collector of outcomes for every requirement of the catalogue."""

    def __init__(self, contract: Contract) -> None:
        self._lock = threading.Lock()
        self.requirements = {r.id: RequirementResult(r) for r in contract.requirements}
        self._pending: dict[tuple[str, str], tuple[Exchange, Violation]] = {}
        self.crashes: list[str] = []
        self.errors: list[str] = []

    def observe(self, exchange: Exchange, judgement: Judgement, *, test: str) -> None:
        """Count the requirements the judgement applied as checked; hold the violations as pending."""
        with self._lock:
            if judgement.skipped:
                return
            for requirement_id in judgement.applicable:
                self.requirements[requirement_id].checked += 1
            for violation in judgement.violations:
                self._pending[(test, violation.requirement)] = (exchange, violation)
            for crash in judgement.crashes:
                self.crashes.append(f"check {crash.requirement} crashed in {test}:\n{crash.error}")

    def finish_test(self, test: str) -> None:
        """Commit the last failing exchange of each requirement ``test`` broke."""
        with self._lock:
            for key in [k for k in self._pending if k[0] == test]:
                exchange, violation = self._pending.pop(key)
                result = self.requirements[violation.requirement]
                result.failures += 1
                result.add_example(Counterexample.of(exchange, violation, test))

    def error(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)

    def failing(self, *, strict: bool) -> list[RequirementResult]:
        return [
            r
            for r in self.requirements.values()
            if r.status == "fail" and counts(r.requirement.severity, strict=strict)
        ]

    def rows(self) -> list[RequirementResult]:
        return list(self.requirements.values())

    def to_data(self) -> dict[str, Any]:
        """Plain data, for carrying a worker's results to the controller (pytest-xdist)."""
        with self._lock:
            return {
                "requirements": {
                    rid: {
                        "checked": r.checked,
                        "failures": r.failures,
                        "counterexamples": [c.to_dict() for c in r.counterexamples],
                    }
                    for rid, r in self.requirements.items()
                },
                "crashes": list(self.crashes),
                "errors": list(self.errors),
            }

    def merge(self, data: dict[str, Any]) -> None:
        """Add a worker's :meth:`to_data` to these results."""
        with self._lock:
            for rid, part in data["requirements"].items():
                result = self.requirements[rid]
                result.checked += part["checked"]
                result.failures += part["failures"]
                for example in part["counterexamples"]:
                    result.add_example(Counterexample(**example))
            self.crashes.extend(data["crashes"])
            self.errors.extend(data["errors"])
