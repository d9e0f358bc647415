"""Reports: ``conformance.json`` (the record every other format is rendered from) and ``junit.xml``.

Files are written to a temporary name and renamed into place, so a crash
never leaves half a report. Everything that came from the target is already
redacted by the client; text is redacted once more here with the run's
secrets, and made safe for XML.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs_conformance.redact import Redactor
from jobs_conformance.results import Results

__all__ = [
    "CaseOutcome",
    "build_report",
    "findings_of",
    "verdict_of",
    "write_atomic",
    "write_json",
    "write_junit",
]

SCHEMA_VERSION = 3
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


def verdict_of(results: Results, *, strict: bool, interrupted: bool) -> str:
    """``fail`` when a failing requirement counts; ``incomplete`` when no verdict could be reached."""
    if interrupted:
        return "incomplete"
    if results.failing(strict=strict):
        return "fail"
    if results.errors or results.crashes:
        return "incomplete"
    if not any(r.checked for r in results.rows()):
        # Nothing was judged (--collect-only, say): no verdict, never a pass.
        return "incomplete"
    return "pass"


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
) -> dict[str, Any]:
    """The ``conformance.json`` document (see spec/conformance.schema.json)."""
    rows = []
    for result in results.rows():
        requirement = result.requirement
        rows.append(
            {
                "id": requirement.id,
                "title": requirement.title,
                "severity": requirement.severity,
                "status": result.status,
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
        "verdict": verdict_of(results, strict=strict, interrupted=interrupted),
        "target": target,
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
        "findings": findings_of(results),
    }
    return redactor.data(report)


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
        }
        for failing in sorted(found, key=lambda f: (f.requirement, -f.count, f.name))
    ]


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
    path = report_dir / "conformance.json"
    write_atomic(path, (json.dumps(report, indent=2, ensure_ascii=True) + "\n").encode("ascii"))
    return path


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_junit(
    outcomes: Iterable[CaseOutcome],
    report_dir: Path,
    *,
    redactor: Redactor,
    findings: Iterable[Mapping[str, Any]] = (),
    name: str = "jobs-conformance",
) -> Path:
    """``junit.xml``: one testcase per test, its requirement ids and finding ids as properties."""
    cases = list(outcomes)
    by_test: dict[str, list[str]] = {}
    for finding in findings:
        for test in finding["tests"]:
            by_test.setdefault(test, []).append(finding["id"])
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(sum(c.outcome == "failed" for c in cases)),
        errors=str(sum(c.outcome == "error" for c in cases)),
        skipped=str(sum(c.outcome == "skipped" for c in cases)),
        time=f"{sum(c.duration_s for c in cases):.3f}",
    )
    for case in cases:
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
        ids = by_test.get(case.nodeid, [])
        for finding in ids:
            ET.SubElement(properties, "property", name="finding", value=finding)
        if case.outcome in ("failed", "error", "skipped"):
            tag = {"failed": "failure", "error": "error", "skipped": "skipped"}[case.outcome]
            found = f"findings: {', '.join(ids)}\n" if ids and case.outcome == "failed" else ""
            text = _xml_text(redactor.text(found + case.message))
            child = ET.SubElement(element, tag, message=text.splitlines()[0][:500] if text else tag)
            child.text = text
    path = report_dir / "junit.xml"
    write_atomic(
        path, ET.tostring(ET.ElementTree(suite).getroot(), encoding="utf-8", xml_declaration=True)
    )
    return path
