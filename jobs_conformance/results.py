"""Per-requirement outcomes of a run: what was checked, what failed, and the failing classes.

Tests hand every judged exchange to :class:`Results`. An exchange is counted
once per test however often it is judged (Hypothesis replays examples while
it shrinks, and the run answers a repeated probe from memory). Failures are
grouped by class (a near-miss form, an invalid-id class, a body pointer with
its reason, a held job: the check's :attr:`~jobs_conformance.oracle.Problem.kind`),
and each class keeps its simplest example: the shortest request, which is
what Hypothesis shrinks toward, so one run shows every failing form at once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from jobs_conformance.contract import Contract, Requirement, counts
from jobs_conformance.exchange import Exchange, Intent
from jobs_conformance.oracle import Judgement, Violation
from jobs_conformance.redact import Redactor

__all__ = [
    "Counterexample",
    "FailingClass",
    "RequirementResult",
    "Results",
    "finding_id",
    "row_status",
]

# Failing classes a report shows per requirement; the rest are counted.
MAX_CLASSES_SHOWN = 12


def finding_id(requirement: str, kind: str) -> str:
    """A finding's stable id: its requirement and its class, nothing of a host, port, time or draw.

    The class names what failed without the values that vary (a near-miss
    form, a body member and its reason, a held job's id), so the same bug
    gets the same id on another host, another port, another day, and two
    bugs under one requirement get two.
    """
    # surrogatepass: a class may name a member of recorded traffic that holds a lone
    # surrogate; every other text encodes as before, so ids do not change.
    digest = hashlib.sha256(f"{requirement}\n{kind}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"{requirement}#{digest[:8]}"


@dataclass(frozen=True)
class Counterexample:
    """One failing exchange, as the report shows it."""

    request: dict[str, Any]
    response: dict[str, Any]
    message: str
    pointer: str
    test: str
    probe: dict[str, Any] | None = None

    @classmethod
    def of(
        cls, exchange: Exchange, violation: Violation, test: str, judged: Exchange | None = None
    ) -> Counterexample:
        """``exchange`` shows the violation; ``judged`` (default: the same) is what to send again."""
        request = (
            exchange.request.to_dict()
            if exchange.request
            else {"method": None, "url": None, "headers": {}}
        )
        response, message = exchange.response.to_dict(), violation.message
        secrets = {*exchange.secrets, *(judged.secrets if judged else ())}
        if secrets:  # a recorded answer that echoes its request's credentials
            hide = Redactor(secrets)
            response, message = hide.data(response), hide.text(message)
        return cls(
            request, response, message, violation.pointer, test, probe_of(judged or exchange)
        )

    @property
    def size(self) -> tuple[int, str]:
        """Shortlex on the URL: the simpler of two examples of a class."""
        return _shortlex(self.request.get("url"))

    @staticmethod
    def size_of(exchange: Exchange) -> tuple[int, str]:
        """The :attr:`size` of the example :meth:`of` makes of ``exchange``, without making it."""
        return _shortlex(exchange.request.url if exchange.request else None)

    @property
    def order(self) -> str:
        """A total order of examples, for ties on :attr:`size`."""
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "response": self.response,
            "message": self.message,
            "pointer": self.pointer,
            "test": self.test,
            "probe": self.probe,
        }


def _shortlex(url: str | None) -> tuple[int, str]:
    text = str(url or "")
    return (len(text), text)


def probe_of(exchange: Exchange) -> dict[str, Any] | None:
    """What to send to see a finding again, as plain data without secrets (for ``replay``).

    The raw id and why it was asked; the id whose answer it is compared with
    (a case variant's or a repeat's declared id) and the other forms tried
    beside it; for an unauthenticated request, which credential headers were
    left out or altered (their names: values come from the run's options);
    for a seeded job, the job stored.
    """
    if exchange.request is None or exchange.job_id is None:
        return None
    credentials = None
    if exchange.intent is Intent.UNAUTHENTICATED:
        credentials = "altered" if exchange.label.startswith("with an altered") else "without"
    return {
        "job_id": exchange.job_id,
        "intent": exchange.intent.value,
        "label": exchange.label,
        "about": exchange.about,
        "detail": exchange.detail,
        "baseline": exchange.baseline.job_id if exchange.baseline is not None else None,
        "alternates": [a.job_id for a in exchange.alternates],
        "credentials": credentials,
        "expected": dict(exchange.expected) if exchange.expected is not None else None,
    }


@dataclass
class FailingClass:
    """One failing class of a requirement: how many examples, the simplest, what else it broke.

    ``severity`` is the finding's (``must`` where it also broke a must-level
    requirement; see :func:`jobs_conformance.oracle.root_causes`).
    """

    requirement: str
    name: str
    severity: str
    count: int
    example: Counterexample
    also_affects: set[str] = field(default_factory=set)
    tests: set[str] = field(default_factory=set)
    # Re-sent to confirm it: failed k of n times (the run's own, and the re-sends).
    reproduced: tuple[int, int] | None = None

    @property
    def id(self) -> str:
        return finding_id(self.requirement, self.name)

    def add(
        self,
        severity: str,
        example: Counterexample,
        also_affects: set[str],
        count: int = 1,
    ) -> None:
        self.tally(severity, example.test, also_affects, count)
        if example.size < self.example.size or (
            # Two examples as simple: the one first in a total order, so merged
            # results do not depend on the order they were met in.
            example.size == self.example.size and example.order < self.example.order
        ):
            self.example = example

    def tally(self, severity: str, test: str, also_affects: set[str], count: int = 1) -> None:
        """Count ``count`` examples of this class, met in ``test``, keeping the example."""
        self.count += count
        self.also_affects |= also_affects
        self.tests.add(test)
        if severity == "must":
            self.severity = "must"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "class": self.name,
            "severity": self.severity,
            "count": self.count,
            "also_affects": sorted(self.also_affects),
            **self.example.to_dict(),
        }


@dataclass
class RequirementResult:
    """What the run learnt about one requirement: examples checked and failed, by class.

    ``affected`` counts the examples that broke it only as a consequence of
    another requirement's finding (``affected_by``): not failed again, and
    not a pass either.
    """

    requirement: Requirement
    checked: int = 0
    failed: int = 0
    classes: dict[str, FailingClass] = field(default_factory=dict)
    affected: int = 0
    affected_by: set[str] = field(default_factory=set)
    reason: str | None = None

    def add_class(
        self,
        kind: str,
        severity: str,
        example: Counterexample,
        also_affects: set[str],
        count: int = 1,
    ) -> None:
        """File ``count`` failing examples under the class ``kind``, keeping the simplest."""
        known = self.classes.get(kind)
        if known is None:
            self.classes[kind] = FailingClass(
                self.requirement.id,
                kind,
                severity,
                count,
                example,
                set(also_affects),
                {example.test},
            )
        else:
            known.add(severity, example, also_affects, count)

    def add_example(
        self,
        kind: str,
        severity: str,
        shown: Exchange,
        violation: Violation,
        test: str,
        judged: Exchange,
        also_affects: set[str],
    ) -> None:
        """:meth:`add_class` the example :meth:`Counterexample.of` makes of these, built only
        when it may be the class's simplest: most examples of a class are not, and building
        one (the headers, a body excerpt, the probe) costs as much as the rest of counting it."""
        known = self.classes.get(kind)
        if known is not None and Counterexample.size_of(shown) > known.example.size:
            known.tally(severity, test, also_affects)
            return
        example = Counterexample.of(shown, violation, test, judged)
        self.add_class(kind, severity, example, also_affects)

    def counts(self, *, strict: bool) -> bool:
        """Whether one of its findings fails the run."""
        return any(counts(c.severity, strict=strict) for c in self.classes.values())

    @property
    def shown(self) -> list[FailingClass]:
        """The failing classes a report shows: the most frequent first, capped."""
        ranked = sorted(self.classes.values(), key=lambda c: (-c.count, c.name))
        return ranked[:MAX_CLASSES_SHOWN]

    @property
    def status(self) -> str:
        return row_status(checked=self.checked, failed=self.failed, affected=self.affected)


def row_status(*, checked: int, failed: int, affected: int) -> str:
    """A requirement's status from its counts: what a report's row says, however counted."""
    if failed:
        return "fail"
    if affected:
        return "affected"
    return "pass" if checked else "not-checked"


class Results:
    """Thread-safe collector of outcomes for every requirement of the catalogue."""

    def __init__(self, contract: Contract) -> None:
        self._lock = threading.Lock()
        self.requirements = {r.id: RequirementResult(r) for r in contract.requirements}
        # The exchanges each running test has counted (by identity; kept
        # alive until the test ends so an identity is never reused).
        self._counted: dict[str, dict[int, Exchange]] = {}
        self.crashes: list[str] = []
        self.errors: list[str] = []

    def observe(
        self, exchange: Exchange, judgement: Judgement, *, test: str, once: bool = False
    ) -> None:
        """Count what the judgement applied as checked, and each violation under its class.

        ``once``: the caller judges each exchange once (recorded traffic, an
        audit's reads), so none is remembered for de-duplication: holding
        every exchange until its test ends would keep each body alive long
        enough for the garbage collector to walk it again and again.
        """
        with self._lock:
            if judgement.skipped:
                return
            if not once:
                counted = self._counted.setdefault(test, {})
                if id(exchange) in counted:
                    return  # judged again (a replayed example): the same evidence
                counted[id(exchange)] = exchange
            requirements = self.requirements
            for requirement_id in judgement.applicable:
                requirements[requirement_id].checked += 1
            if not judgement.violations and not judgement.crashes:
                return  # most answers: nothing more to count
            # An example fails a requirement, and each of its classes, once,
            # however many of its values broke it (two items of one array).
            by_class: dict[tuple[str, str], list[Violation]] = {}
            for violation in judgement.violations:
                key = (violation.requirement, violation.kind or violation.message)
                by_class.setdefault(key, []).append(violation)
            for (requirement_id, kind), found in by_class.items():
                first = found[0]
                self.requirements[requirement_id].add_example(
                    kind,
                    "must" if any(v.severity == "must" for v in found) else first.severity,
                    first.evidence or exchange,
                    first,
                    test,
                    exchange,
                    {r for v in found for r in v.also_affects},
                )
            for requirement_id in {v.requirement for v in judgement.violations}:
                self.requirements[requirement_id].failed += 1
            owners: dict[str, set[str]] = {}
            for violation in judgement.violations:
                for affected in violation.also_affects:
                    owners.setdefault(affected, set()).add(violation.requirement)
            for affected, by in owners.items():
                self.requirements[affected].affected += 1
                self.requirements[affected].affected_by |= by
            for crash in judgement.crashes:
                self.crashes.append(f"check {crash.requirement} crashed in {test}:\n{crash.error}")

    def finish_test(self, test: str) -> None:
        """Forget which exchanges ``test`` counted."""
        with self._lock:
            self._counted.pop(test, None)

    def error(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)

    def failing(self, *, strict: bool) -> list[RequirementResult]:
        return [r for r in self.requirements.values() if r.counts(strict=strict)]

    def rows(self) -> list[RequirementResult]:
        return list(self.requirements.values())

    def to_data(self) -> dict[str, Any]:
        """Plain data, for carrying a worker's results to the controller (pytest-xdist)."""
        with self._lock:
            return {
                "requirements": {
                    rid: {
                        "checked": r.checked,
                        "failed": r.failed,
                        "affected": r.affected,
                        "affected_by": sorted(r.affected_by),
                        "classes": [
                            {**c.to_dict(), "tests": sorted(c.tests), "reproduced": c.reproduced}
                            # By name: the same data whatever order the classes were met in.
                            for _, c in sorted(r.classes.items())
                        ],
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
                result.failed += part["failed"]
                result.affected += part["affected"]
                result.affected_by |= set(part["affected_by"])
                for entry in part["classes"]:
                    entry = dict(entry)
                    entry.pop("id")
                    name, severity = entry.pop("class"), entry.pop("severity")
                    count, also = entry.pop("count"), set(entry.pop("also_affects"))
                    tests, reproduced = set(entry.pop("tests")), entry.pop("reproduced")
                    result.add_class(name, severity, Counterexample(**entry), also, count)
                    merged = result.classes[name]
                    merged.tests |= tests
                    if reproduced is not None:
                        # Each worker confirmed its own: the counts add up.
                        k, n = merged.reproduced or (0, 0)
                        merged.reproduced = (k + reproduced[0], n + reproduced[1])
            self.crashes.extend(data["crashes"])
            self.errors.extend(data["errors"])
