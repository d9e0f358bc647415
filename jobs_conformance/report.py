"""Reports: ``conformance.json`` (the record every other format is rendered from) and ``junit.xml``.

Files are written to a temporary name and renamed into place, so a crash
never leaves half a report. Everything that came from the target is already
redacted by the client; text is redacted once more here with the run's
secrets, and made safe for XML.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs_conformance.gate import Gate
from jobs_conformance.redact import Redactor
from jobs_conformance.results import Results
from jobs_conformance.waivers import Waiver

__all__ = [
    "JUNIT_FILE",
    "RECORD_FILE",
    "CaseOutcome",
    "build_report",
    "findings_of",
    "verdict",
    "verdict_of",
    "write_atomic",
    "write_json",
    "write_junit",
]

SCHEMA_VERSION = 3
# The files write_json and write_junit write in a report folder.
RECORD_FILE, JUNIT_FILE = "conformance.json", "junit.xml"
# XML 1.0 section 2.2: characters allowed in a document.
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class CaseOutcome:
    """One pytest test, as JUnit shows it."""

    nodeid: str
    outcome: str  # passed, failed, skipped, error
    duration_s: float
    requirements: tuple[str, ...]
    message: str = ""


def verdict_of(
    results: Results, *, failing: bool, interrupted: bool, unverified: bool = False
) -> str:
    """``fail`` when a finding fails the run (the gate's ``failing``); ``incomplete`` when no
    verdict could be reached (``unverified``: waived debt that could not be observed)."""
    return verdict(
        failing=failing,
        interrupted=interrupted,
        errors=bool(results.errors or results.crashes),
        unverified=unverified,
        checked=any(r.checked for r in results.rows()),
    )


def verdict(
    *, failing: bool, interrupted: bool, errors: bool, unverified: bool, checked: bool
) -> str:
    """The verdict rule, whatever the counts come from (a run's results, an audit's record)."""
    if interrupted:
        return "incomplete"
    if failing:
        return "fail"
    if errors or unverified:
        return "incomplete"
    # Nothing was judged (--collect-only, say): no verdict, never a pass.
    return "pass" if checked else "incomplete"


def build_report(
    results: Results,
    *,
    target: str,
    started: datetime.datetime,
    duration_s: float,
    spec_sha256: str,
    seed: str,
    strict: bool,
    interrupted: bool,
    requests_sent: int,
    known_jobs: int,
    notes: Iterable[str],
    suite_version: str,
    redactor: Redactor,
    gate: Gate | None = None,
    waivers_file: str | None = None,
    baseline_file: str | None = None,
    identity: Mapping[str, Any] | None = None,
    incomplete: Collection[str] = (),
    out_of_scope: Collection[str] = (),
    part: bool = False,
) -> dict[str, Any]:
    """The ``conformance.json`` document (see spec/conformance.schema.json).

    ``gate`` gives the findings their statuses (waived, flaky, new since the
    baseline) and decides which fail the run; without one, every finding is
    new and the must/should rule decides.
    """
    # Judged completely: checked, and not cut short by a budget, a selection or an error.
    checked = {
        r.requirement.id
        for r in results.rows()
        if r.status != "not-checked" and r.requirement.id not in incomplete
    }
    outcome = (gate or Gate(strict=strict)).apply(
        findings_of(results), checked=checked, out_of_scope=out_of_scope, part=part
    )
    rows = []
    for result in results.rows():
        requirement = result.requirement
        status = outcome.shown_status(requirement.id, result.status)
        rows.append(
            {
                "id": requirement.id,
                "title": requirement.title,
                "severity": requirement.severity,
                "status": status,
                "checked": result.checked,
                "failed": result.failed,
                "failing_classes": len(result.classes),
                "affected": result.affected,
                "also_affected_by": sorted(result.affected_by),
                "reason": result.reason if result.status == "not-checked" else None,
                "counterexamples": [c.to_dict() for c in result.shown],
            }
        )
    report = {
        "schema_version": SCHEMA_VERSION,
        "verdict": verdict_of(
            results,
            failing=outcome.failing,
            interrupted=interrupted,
            unverified=outcome.unsettled,
        ),
        "target": target,
        # What was tested; nothing is known of a run that sent no request.
        "target_identity": {
            "addresses": [],
            "tls_sha256": [],
            "versions": {},
            "version_header": None,
            **(identity or {}),
        },
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(duration_s, 3),
        "spec_sha256": spec_sha256,
        "seed": seed,
        "suite_version": suite_version,
        "strict": strict,
        "requests_sent": requests_sent,
        "known_jobs": known_jobs,
        "notes": list(notes),
        "errors": results.errors + results.crashes,
        "requirements": rows,
        "findings": outcome.findings,
        "waivers": {
            "file": waivers_file,
            "strict": bool(gate and gate.strict_waivers),
            "stale": [_waiver(w) for w in outcome.stale],
            "unverified": [_waiver(w) for w in outcome.unverified],
        },
        "baseline": None
        if baseline_file is None
        else {
            "file": baseline_file,
            "new": sum(f.get("since_baseline") == "new" for f in outcome.findings),
            "unchanged": sum(f.get("since_baseline") == "unchanged" for f in outcome.findings),
            "fixed": outcome.fixed,
            "unseen": outcome.unseen,
        },
    }
    return redactor.data(report)


def _waiver(waiver: Waiver) -> dict[str, Any]:
    return {
        "key": waiver.key,
        "reason": waiver.reason,
        "expires": waiver.expires.isoformat(),
        "line": waiver.line,
    }


def findings_of(results: Results) -> list[dict[str, Any]]:
    """Every finding of the run (each failing class, none capped), the most frequent first.

    What a pipeline reads without knowing the rest of the record: the
    finding's stable id, its requirement and its status (``new``: nothing
    has accepted it).
    """
    found = [failing for result in results.rows() for failing in result.classes.values()]
    return [
        {
            "id": failing.id,
            "requirement": failing.requirement,
            "class": failing.name,
            "status": "new",
            "severity": failing.severity,
            "count": failing.count,
            "also_affects": sorted(failing.also_affects),
            "message": failing.example.message,
            "tests": sorted(failing.tests),
            "waiver": None,
            "reproduced": list(failing.reproduced) if failing.reproduced else None,
            "probe": failing.example.probe,
            "request": failing.example.request,
        }
        for failing in sorted(found, key=lambda f: (f.requirement, -f.count, f.name))
    ]


def report_folder(path: Path, argument: str = "--report-dir") -> Path:
    """``path``, made a folder now if it is not one: a command that would judge for an hour
    learns before it starts that its reports could not be written there."""
    from jobs_conformance.errors import UsageError

    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-")  # noqa: SIM115
        probe.close()
    except OSError as exc:
        raise UsageError(
            argument, str(path), f"a folder reports can be written to ({exc.strerror or exc})"
        ) from exc
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(report: Mapping[str, Any], report_dir: Path) -> Path:
    path = report_dir / RECORD_FILE
    write_atomic(path, (json.dumps(report, indent=2, ensure_ascii=True) + "\n").encode("ascii"))
    return path


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _as_gated(case: CaseOutcome, seen: list[Mapping[str, Any]]) -> tuple[CaseOutcome, list[str]]:
    """A test as JUnit shows it, with the ids of the findings it saw: one whose every finding
    is accepted (waived, flaky under --flaky warn, old under --fail-on new) is skipped, saying
    why, as CI tools show debt."""
    ids = [f["id"] for f in seen]
    accepted = any(
        f["status"] in ("waived", "flaky") or f.get("since_baseline") == "unchanged" for f in seen
    )
    if accepted and case.outcome in ("passed", "failed") and not any(f["fails_run"] for f in seen):
        reasons = "; ".join(_accepted(f) for f in seen)
        return dataclasses.replace(case, outcome="skipped", message=reasons), ids
    if case.outcome == "failed" and seen:
        # Which findings fail it, and which it also saw that are accepted.
        failing = [f["id"] for f in seen if f["fails_run"]]
        others = [_accepted(f) for f in seen if not f["fails_run"]]
        head = f"failing findings: {', '.join(failing)}\n" + "".join(f"{o}\n" for o in others)
        return dataclasses.replace(case, message=head + case.message), ids
    return case, ids


def _accepted(finding: Mapping[str, Any]) -> str:
    """Why a finding does not fail the run, in one line."""
    waiver = finding.get("waiver")
    if finding["status"] == "waived" and waiver:
        return (
            f"{finding['id']} waived: {waiver['reason']} (expires {waiver['expires']}, "
            f"{waiver['days_left']} days left)"
        )
    if finding["status"] == "flaky":
        k, n = finding["reproduced"]
        return f"{finding['id']} flaky: reproduced {k}/{n} (--flaky warn)"
    if finding.get("since_baseline") == "unchanged":
        return f"{finding['id']} unchanged since the baseline (--fail-on new)"
    return f"{finding['id']} does not fail the run ({finding['severity']}-level)"


def write_junit(
    outcomes: Iterable[CaseOutcome],
    report_dir: Path,
    *,
    redactor: Redactor,
    findings: Iterable[Mapping[str, Any]] = (),
    name: str = "jobs-conformance",
) -> Path:
    """``junit.xml``: one testcase per test, its requirement ids and finding ids as properties."""
    by_test: dict[str, list[Mapping[str, Any]]] = {}
    for finding in findings:
        for test in finding["tests"]:
            by_test.setdefault(test, []).append(finding)
    cases = [_as_gated(case, by_test.get(case.nodeid, [])) for case in outcomes]
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(sum(c.outcome == "failed" for c, _ in cases)),
        errors=str(sum(c.outcome == "error" for c, _ in cases)),
        skipped=str(sum(c.outcome == "skipped" for c, _ in cases)),
        time=f"{sum(c.duration_s for c, _ in cases):.3f}",
    )
    for case, ids in cases:
        module, _, test_name = case.nodeid.rpartition("::")
        element = ET.SubElement(
            suite,
            "testcase",
            classname=_xml_text(module.replace("/", ".")),
            name=_xml_text(test_name),
            time=f"{case.duration_s:.3f}",
        )
        properties = ET.SubElement(element, "properties")
        for requirement in case.requirements:
            ET.SubElement(properties, "property", name="requirement", value=requirement)
        for finding in ids:
            ET.SubElement(properties, "property", name="finding", value=finding)
        if case.outcome in ("failed", "error", "skipped"):
            tag = {"failed": "failure", "error": "error", "skipped": "skipped"}[case.outcome]
            text = _xml_text(redactor.text(case.message))
            child = ET.SubElement(element, tag, message=text.splitlines()[0][:500] if text else tag)
            child.text = text
    path = report_dir / JUNIT_FILE
    write_atomic(
        path, ET.tostring(ET.ElementTree(suite).getroot(), encoding="utf-8", xml_declaration=True)
    )
    return path
