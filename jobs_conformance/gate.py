"""The gate: what a run's findings mean for the deployment it guards.

A finding fails the run unless something accepted it: a waiver, until it
expires (``--waivers``); the baseline, under ``--fail-on new``; or, under
``--flaky warn``, its failing to reproduce. This module gives each finding
its status and decides which fail the run; the oracle and the results know
nothing of it. It applies once, at the end: while the tests run, every
counting violation fails its test, so that what a run explores never
depends on what was accepted.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jobs_conformance.contract import counts
from jobs_conformance.errors import UsageError
from jobs_conformance.redact import redact_url
from jobs_conformance.settings import Option, Settings, option
from jobs_conformance.waivers import Waiver, apply_waivers, load_waivers

__all__ = ["COMMAND_OPTIONS", "Gate", "GateOutcome", "policy_of"]

# The gate's options as the commands that judge without pytest take them
# (observe, audit); a merge of their records applies the same policy again.
COMMAND_OPTIONS = ("strict", "waivers", "strict-waivers", "baseline", "fail-on")


@dataclass(frozen=True)
class GateOutcome:
    """The findings with their statuses, and what the run's verdict takes from them."""

    findings: list[dict[str, Any]]
    failing: bool  # a finding (or a stale waiver under --strict-waivers) fails the run
    stale: list[Waiver] = field(default_factory=list)
    unverified: list[Waiver] = field(default_factory=list)
    fixed: list[dict[str, Any]] = field(default_factory=list)  # in the baseline, gone now
    # Under --fail-on new: baseline findings whose requirement this run did not judge
    # completely (known debt that could not be seen again: no verdict, as for a waiver).
    unseen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unsettled(self) -> bool:
        """Known debt that could not be seen again (a waiver unverified, a baseline finding
        unseen): no verdict, whatever else was found."""
        return bool(self.unverified or self.unseen)

    def shown_status(self, requirement: str, status: str) -> str:
        """A requirement's status as a report shows it: failed, and every one of its
        findings accepted debt, it reads as waived."""
        if status != "fail":
            return status
        statuses = {f["status"] for f in self.findings if f["requirement"] == requirement}
        return "waived" if statuses == {"waived"} else status


@dataclass(frozen=True)
class Gate:
    """The run's policy for its findings (from the settings, resolved once)."""

    strict: bool = False
    flaky: str = "fail"
    fail_on: str = "all"
    strict_waivers: bool = False
    waivers: tuple[Waiver, ...] = ()
    baseline: Mapping[str, Mapping[str, Any]] | None = None  # id -> finding of the previous record
    target: str = ""
    today: datetime.date = field(default_factory=datetime.date.today)

    @classmethod
    def of(
        cls, settings: Settings, *, catalogue: Collection[str], spell: Callable[[Option], str]
    ) -> Gate:
        """The run's gate: its options, the waiver file and the baseline, read once (a bad file
        is a UsageError naming it)."""
        return cls(
            strict=settings.strict,
            flaky=settings.flaky,
            fail_on=settings.fail_on,
            strict_waivers=settings.strict_waivers,
            waivers=tuple(
                load_waivers(
                    settings.waivers,
                    explicit=settings.waivers_explicit,
                    catalogue=catalogue,
                    source=settings.sources.get("waivers") or spell(option("waivers")),
                )
            ),
            baseline=_baseline(
                settings.baseline, settings.sources.get("baseline") or spell(option("baseline"))
            )
            if settings.baseline
            else None,
            target=scope_of(settings.base_url),
        )

    @classmethod
    def of_policy(
        cls,
        policy: Mapping[str, Any],
        *,
        catalogue: Collection[str],
        sources: Mapping[str, str] | None = None,
    ) -> Gate:
        """The gate a record's :func:`policy_of` describes: its files read again, named in
        messages as ``sources`` (:attr:`Settings.sources`) says they were given; a record
        keeps no sources (parts given their files one way and another still merge)."""
        sources = sources or {}
        return cls(
            strict=bool(policy["strict"]),
            fail_on=str(policy["fail_on"]),
            strict_waivers=bool(policy["strict_waivers"]),
            waivers=tuple(
                load_waivers(
                    Path(policy["waivers"]),
                    explicit=bool(policy["waivers_explicit"]),
                    catalogue=catalogue,
                    source=sources.get("waivers", "--waivers"),
                )
            ),
            baseline=_baseline(Path(policy["baseline"]), sources.get("baseline", "--baseline"))
            if policy["baseline"]
            else None,
            target=str(policy["target"]),
        )

    def apply(
        self,
        findings: list[dict[str, Any]],
        *,
        checked: Collection[str],
        out_of_scope: Collection[str] = (),
        part: bool = False,
    ) -> GateOutcome:
        """Statuses for the record's findings.

        ``checked`` are the requirements the run judged completely (not
        stopped by a budget, a selection or an error): only there can a
        waiver be stale or a baseline finding fixed. ``out_of_scope`` are
        those this configuration cannot check (seeding without a seeding
        URL, say): their waivers are left alone, neither stale nor unverified.
        ``part``: the record is one shard's of inputs other parts judge: the
        findings it saw are waived and compared as any, and what it did not
        see is the other parts' to show (neither stale, unverified, fixed nor
        unseen; their merge decides).
        """
        if part:
            # Judged complete nowhere: no waiver stale, no baseline finding fixed; what it did
            # not see is not unsettled either.
            outcome = self.apply(findings, checked=(), out_of_scope=out_of_scope)
            return replace(outcome, unverified=[], unseen=[])
        in_scope = [w for w in self.waivers if _requirement_of(w) not in out_of_scope]
        waived = apply_waivers(
            findings, in_scope, target=self.target, checked=checked, today=self.today
        )
        marked = []
        for finding in waived.findings:
            finding = dict(finding)
            reproduced = finding.get("reproduced")
            if finding["status"] == "new" and reproduced and reproduced[0] < reproduced[1]:
                finding["status"] = "flaky"
            marked.append(finding)
        fixed: list[dict[str, Any]] = []
        unseen: list[dict[str, Any]] = []
        if self.baseline is not None:
            marked, fixed = since(self.baseline, marked, checked=checked)
            if self.fail_on == "new":
                seen = {f["id"] for f in marked}
                unseen = [
                    dict(old)
                    for old_id, old in self.baseline.items()
                    if old_id not in seen and old.get("requirement") not in checked
                ]
        marked = [{**f, "fails_run": self._fails(f)} for f in marked]
        failing = any(f["fails_run"] for f in marked) or bool(self.strict_waivers and waived.stale)
        return GateOutcome(marked, failing, waived.stale, waived.unverified, fixed, unseen)

    def _fails(self, finding: Mapping[str, Any]) -> bool:
        if not counts(finding["severity"], strict=self.strict):
            return False
        if finding["status"] == "waived":
            return False
        if finding["status"] == "flaky" and self.flaky == "warn":
            return False
        return not (self.fail_on == "new" and finding.get("since_baseline") == "unchanged")

    def _old(self, identifier: str) -> bool:
        return self.baseline is not None and identifier in self.baseline


def policy_of(settings: Settings) -> dict[str, Any]:
    """The gate's settings as plain data, kept in a mergeable record: a merge of the parts
    applies the same waivers and baseline to the merged findings."""
    return {
        "strict": settings.strict,
        "waivers": str(settings.waivers),
        "waivers_explicit": settings.waivers_explicit,
        "strict_waivers": settings.strict_waivers,
        "baseline": str(settings.baseline) if settings.baseline else None,
        "fail_on": settings.fail_on,
        "target": scope_of(settings.base_url),
    }


def checked_policy(
    policy: Mapping[str, Any], sources: Mapping[str, str] | None = None
) -> Mapping[str, Any]:
    """``policy`` with its waiver and baseline files read now: a bad one is a usage error
    (named as ``sources`` says it was given) before a command reads its input or sends a
    request, not after an hour of judging."""
    from jobs_conformance.contract import load_contract

    Gate.of_policy(policy, catalogue=[r.id for r in load_contract().requirements], sources=sources)
    return policy


def scope_of(base_url: str | None) -> str:
    """What a waiver's ``target`` pattern is matched against: the base URL without its
    credentials, or ``embedded`` for the embedded reference (its port changes every run)."""
    return redact_url(base_url) if base_url else "embedded"


def _baseline(path: Path, source: str) -> dict[str, Mapping[str, Any]]:
    """The findings of a previous record, by id; none from a record older than finding ids
    (schema 3), so that the first run after an upgrade compares with nothing, not fails."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if int(record["schema_version"]) < 3:
            return {}
        return {str(f["id"]): f for f in record["findings"]}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise UsageError(
            source, str(path), f"a conformance.json with findings (schema 3 or later): {exc!r}"
        ) from None


def since(
    baseline: Mapping[str, Mapping[str, Any]],
    findings: list[dict[str, Any]],
    *,
    checked: Collection[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``findings`` marked new or unchanged since ``baseline`` (id -> finding), and the
    baseline's findings that are fixed: not seen now, though their requirement was checked."""
    marked = [
        {**f, "since_baseline": "unchanged" if f["id"] in baseline else "new"} for f in findings
    ]
    seen = {f["id"] for f in findings}
    fixed = [
        dict(old)
        for old_id, old in baseline.items()
        if old_id not in seen and old.get("requirement") in checked
    ]
    return marked, fixed


def compare_records(
    old: Mapping[str, Any], new: Mapping[str, Any], old_file: str
) -> dict[str, Any]:
    """``new`` (a conformance.json) with what changed since ``old``, as a run with
    ``--baseline old`` records it (``report --compare``, without running again)."""
    checked = {r["id"] for r in new["requirements"] if r["status"] != "not-checked"}
    marked, fixed = since({f["id"]: f for f in old["findings"]}, new["findings"], checked=checked)
    return {
        **new,
        "findings": marked,
        "baseline": {
            "file": old_file,
            "new": sum(f["since_baseline"] == "new" for f in marked),
            "unchanged": sum(f["since_baseline"] == "unchanged" for f in marked),
            "fixed": fixed,
            "unseen": [],
        },
    }


def _requirement_of(waiver: Waiver) -> str:
    return waiver.requirement or str(waiver.finding).split("#", 1)[0]
