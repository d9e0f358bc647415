"""Human-readable reports rendered from ``conformance.json``: console table, HTML, Markdown, badge.

Everything here renders a saved report; nothing re-judges. Text that came
from the target (bodies, headers, messages quoting values) is escaped for its
medium: Jinja2's autoescaping for HTML, code spans and fences for Markdown,
and control characters made visible in both.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from jobs_conformance.contract import spec_data
from jobs_conformance.redact import BASIC_MARKER, MARKER
from jobs_conformance.report import write_atomic

__all__ = [
    "ConsoleLine",
    "curl_command",
    "render_badge",
    "render_console",
    "render_html",
    "render_markdown",
    "write_human_reports",
]

_STATUS_ORDER = {"fail": 0, "waived": 1, "affected": 2, "not-checked": 3, "pass": 4}
# C0 and C1 controls (but tab and newline), the Unicode line and paragraph separators
# and bidirectional overrides that can disguise text, and lone surrogates (recorded
# traffic can hold "\ud800"; no encoding writes one).
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def visible(text: Any) -> str:
    """``text`` with invisible and control characters shown as ``\\uXXXX``."""
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(text))


def curl_command(request: Mapping[str, Any]) -> str:
    """A copy-paste ``curl`` reproduction of a recorded (already redacted) request.

    Redacted credentials stay placeholders for the user to fill in: Basic
    credentials (a URL's user-info) become ``-u 'USER:PASSWORD'``, others
    ``[REDACTED]``; ``-g`` keeps curl from reading a placeholder's brackets
    in the URL as a glob.
    """
    url = str(request.get("url") or "")
    parts = ["curl", "-i", "-X", str(request.get("method") or "GET")]
    basic = f"://{MARKER}@" in url
    url = url.replace(f"{MARKER}@", "", 1) if basic else url
    for name, value in (request.get("headers") or {}).items():
        if name.lower() == "authorization" and value == BASIC_MARKER:
            basic = True
        else:
            parts += ["-H", f"{name}: {value}"]
    if basic:
        parts += ["-u", "USER:PASSWORD"]
    if any(c in url for c in "[]{}"):
        parts.insert(2, "-g")
    parts.append(url)
    return visible(" ".join(shlex.quote(p) for p in parts))


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("jobs_conformance", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["visible"] = visible
    environment.filters["curl"] = curl_command
    environment.filters["more"] = _more
    environment.filters["overlap"] = _overlap
    environment.filters["state"] = finding_state
    environment.filters["counted"] = _counted
    return environment


@functools.lru_cache(maxsize=1)
def _disagreements() -> list[dict[str, str]]:
    return spec_data("disagreements.yaml")["disagreements"]


def _summary(report: Mapping[str, Any]) -> dict[str, Any]:
    rows = sorted(report["requirements"], key=lambda r: _STATUS_ORDER[r["status"]])
    return {
        "rows": rows,
        "failing": [r for r in rows if r["status"] in ("fail", "waived")],
        "met": sum(r["status"] == "pass" for r in rows),
        "not_checked": sum(r["status"] == "not-checked" for r in rows),
        "failing_count": sum(r["status"] == "fail" for r in rows),
        "waived": sum(r["status"] == "waived" for r in rows),
        "affected": sum(r["status"] == "affected" for r in rows),
    }


def render_html(report: Mapping[str, Any]) -> str:
    """One self-contained HTML page: inline CSS, no scripts, no external resources."""
    template = _environment().get_template("report.html.j2")
    gate_notes = [line for line in gate_lines(report) if not line.startswith("finding ")]
    return template.render(
        report=report, disagreements=_disagreements(), gate_notes=gate_notes, **_summary(report)
    )


def _fence(text: str, *, shortest: int) -> str:
    # Longer than any backtick run inside, so the text cannot close it.
    return "`" * max(shortest, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)


def _code(text: Any) -> str:
    body = visible(text).replace("\n", " ")
    fence = _fence(body, shortest=1)
    return f"{fence} {body} {fence}"


def _cell(text: Any) -> str:
    return (
        visible(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\n", " ")
    )


def render_markdown(report: Mapping[str, Any], *, excerpt: int = 400) -> str:
    """A short Markdown summary, for a pull-request comment or a CI step summary."""
    summary = _summary(report)
    lines = [
        f"## Conformance: {report['verdict'].upper()}",
        "",
        f"{summary['met']} of {len(report['requirements'])} requirements met. Target {_code(report['target'])}, "
        f"{report['requests_sent']} requests in {report['duration_s']:.1f} s, spec `{report['spec_sha256'][:12]}`, "
        f"seed `{report['seed']}`.",
        "",
        "| requirement | severity | status | examples checked | failed | failing classes |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for row in summary["rows"]:
        mark = {
            "fail": "❌ fail",
            "waived": "⏳ waived",
            "affected": "↪ affected",
            "pass": "✅ pass",
            "not-checked": "➖ not checked",
        }[row["status"]]
        lines.append(
            f"| `{row['id']}` | {row['severity']} | {mark} | {row['checked']} | {row['failed']} "
            f"| {row['failing_classes']} |"
        )
    # Why each row that is neither pass nor fail is so, one line a reason.
    reasons: dict[str, list[str]] = {}
    for row in summary["rows"]:
        if row["status"] == "affected":
            owners = ", ".join(f"`{r}`" for r in row["also_affected_by"])
            why = f"affected by the findings of {owners} (not failed again)"
        elif row["status"] == "not-checked":
            why = f"not checked: {_cell(row['reason'] or '')}"
        else:
            continue
        reasons.setdefault(why, []).append(f"`{row['id']}`")
    if reasons:
        lines.append("")
    lines += [f"- {', '.join(ids)}: {why}" for why, ids in reasons.items()]
    if report["findings"]:
        # An audit's findings: how many listed jobs show each, and the smallest of their ids.
        samples = (report.get("audit") or {}).get("samples")
        jobs = " jobs |" if samples is not None else ""
        lines += [
            "",
            f"| finding | class | status | fails the run |{jobs}",
            "| --- | --- | --- | --- |" + (" --- |" if jobs else ""),
        ]
        lines += [
            f"| `{f['id']}` | {_cell(f['class'])} | {_cell(finding_state(f))} | "
            f"{'yes' if f['fails_run'] else 'no'} |"
            + (f" {_listed_jobs(f, samples)} |" if samples is not None else "")
            for f in report["findings"]
        ]
    lines += [f"> {_cell(line)}" for line in gate_lines(report) if not line.startswith("finding ")]
    for row in summary["failing"]:
        lines += [
            "",
            f"### `{row['id']}`: {_cell(row['title'])}",
            "",
            f"{row['failed']} of {_counted(row['checked'], 'example')} failed, in "
            f"{_counted(row['failing_classes'], 'failing class')}{_more(row)}{_overlap(row)}.",
        ]
        for example in row["counterexamples"]:
            body = visible(example["response"]["body_excerpt"][:excerpt])
            fence = _fence(body, shortest=3)
            also = ", ".join(f"`{r}`" for r in example["also_affects"])
            lines += [
                "",
                f"#### {_code(example['class'])} ({_counted(example['count'], 'example')}; "
                f"finding `{example['id']}`)",
                "",
                _cell(example["message"]),
                *(["", f"Also affects {also} (not failed again)."] if also else []),
                "",
                f"Response {example['response']['status']}:",
                "",
                f"{fence}text",
                body,
                fence,
                "",
                "Reproduce:",
                "",
                f"{fence}sh",
                curl_command(example["request"]),
                fence,
            ]
    for note in [*report["errors"], *report["notes"]]:
        lines += ["", f"> {_cell(note.splitlines()[0] if note else '')}"]
    return "\n".join(lines) + "\n"


def _listed_jobs(finding: Mapping[str, Any], samples: Mapping[str, list[str]]) -> str:
    """``3: `id1`, `id2`, `id3```: how many jobs show an audit's finding, and the smallest ids."""
    shown = samples.get(finding["id"], [])
    more = ", ..." if finding["count"] > len(shown) else ""
    return f"{finding['count']}: " + ", ".join(_code(i) for i in shown) + more


def _counted(number: int, noun: str) -> str:
    """``1 example``, ``2 examples``, ``2 failing classes``."""
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun}{'es' if noun.endswith('s') else 's'}"


def _overlap(row: Mapping[str, Any]) -> str:
    # The classes' counts add up to more when one example failed in several
    # (createdAt and updatedAt of one body).
    if sum(c["count"] for c in row["counterexamples"]) > row["failed"]:
        return " (an example can fail in more than one class)"
    return ""


def _more(row: Mapping[str, Any]) -> str:
    hidden = row["failing_classes"] - len(row["counterexamples"])
    return f" ({hidden} more not shown)" if hidden > 0 else ""


def render_badge(report: Mapping[str, Any]) -> str:
    """A shields-style SVG: the verdict and how many requirements were met."""
    summary = _summary(report)
    label = "conformance"
    message = f"{report['verdict']} {summary['met']}/{len(report['requirements'])}"
    colour = {"pass": "#2ea44f", "fail": "#cf222e"}.get(report["verdict"], "#9a6700")
    left, right = 7 * len(label) + 12, 7 * len(message) + 12
    width = left + right
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{label}: {message}"><title>{label}: {message}</title>'
        f'<rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{label}</text><text x="{left + right / 2}" y="14">{message}</text></g></svg>\n'
    )


@dataclass(frozen=True)
class ConsoleLine:
    """One line of the terminal summary, with how to stress it."""

    text: str
    bold: bool = False
    red: bool = False
    green: bool = False


def render_console(
    report: Mapping[str, Any], *, report_dir: Path, problem: str | None = None
) -> list[ConsoleLine]:
    """The per-requirement table and the verdict, as the terminal shows them at the end of a run.

    ``problem`` is a run-level failure to state first (reports not written).
    """
    lines = [ConsoleLine(f"jobs-conformance: {problem}", bold=True, red=True)] if problem else []
    incomplete = report["verdict"] == "incomplete"
    if incomplete and not any(row["checked"] for row in report["requirements"]):
        for error in report["errors"][:1]:
            lines.append(ConsoleLine(f"jobs-conformance: {visible(error)}", bold=True, red=True))
        # Why nothing was checked, when the run knows (nothing collected, stopped).
        lines.extend(ConsoleLine(f"note: {visible(note)}") for note in report["notes"])
        lines.append(
            ConsoleLine(
                f"verdict  INCOMPLETE: no requirement could be checked (report in {report_dir}/)"
            )
        )
        return lines
    lines.append(ConsoleLine(f"target   {visible(report['target'])}"))
    width = max(len(r["id"]) for r in report["requirements"])
    lines.append(
        ConsoleLine(f"{'requirement':<{width}}  severity  status       checked   failed  classes")
    )
    for row in report["requirements"]:
        lines.append(
            ConsoleLine(
                f"{row['id']:<{width}}  {row['severity']:<8}  {row['status']:<11}  "
                f"{row['checked']:>7}  {row['failed']:>7}  {row['failing_classes']:>7}"
            )
        )
        if row["status"] in ("fail", "waived"):
            lines.extend(ConsoleLine(text) for text in _class_lines(row, report_dir))
        elif row["status"] == "not-checked" and row["reason"]:
            lines.append(ConsoleLine(f"    {row['reason']}"))
        if row["also_affected_by"]:
            owners = ", ".join(row["also_affected_by"])
            lines.append(ConsoleLine(f"    also affected by the findings of {owners}"))
    lines.extend(ConsoleLine(text) for text in gate_lines(report))
    for note in [*report["notes"], *report["errors"][:5]]:
        lines.append(ConsoleLine(f"note: {visible(note.splitlines()[0] if note else '')}"))
    verdict = report["verdict"].upper()
    # Recorded traffic is judged without sending anything: no count of requests to show.
    observed = (report.get("partial") or {}).get("kind") == "observe"
    sent = "" if observed else f"{_counted(report['requests_sent'], 'request')}, "
    lines.append(
        ConsoleLine(
            f"verdict  {verdict}  ({sent}{report['duration_s']:.1f} s; reports in {report_dir}/)",
            bold=True,
            red=verdict != "PASS",
            green=verdict == "PASS",
        )
    )
    return lines


# Failing classes the terminal shows per requirement; the reports show more.
_CONSOLE_CLASSES = 5


def finding_state(finding: Mapping[str, Any]) -> str:
    """A finding's status as a reader needs it: new, waived (days left), expired, flaky (k/N),
    and, against a baseline, new or unchanged since it."""
    waiver, status = finding.get("waiver"), finding["status"]
    if status == "waived" and waiver:
        state = f"waived, {waiver['days_left']} days left"
    elif status == "expired" and waiver:
        state = f"expired {waiver['expires']}"
    elif status == "flaky" and finding.get("reproduced"):
        state = "flaky {}/{}".format(*finding["reproduced"])
    else:
        state = status
    since = finding.get("since_baseline")
    if since and status == "new":
        return f"{since} since the baseline"
    return state


def gate_lines(report: Mapping[str, Any]) -> list[str]:
    """What the gate made of the findings: debt, expired and flaky ones, stale waivers, and
    what changed since the baseline."""
    lines = []
    for finding in report["findings"]:
        if finding["status"] != "new" or finding.get("since_baseline") == "unchanged":
            mark = "fails the run" if finding["fails_run"] else "does not fail the run"
            lines.append(
                f"finding {finding['id']} ({visible(finding['class'])}): "
                f"{finding_state(finding)}; {mark}"
            )
    strict = report["waivers"].get("strict")
    for waiver in report["waivers"]["stale"]:
        lines.append(
            f"{'stale waiver fails the run (--strict-waivers)' if strict else 'warning'}: "
            f"waiver {waiver['key']} (line {waiver['line']}) is stale: its requirement "
            "was checked and the finding was not seen (jobs-conformance waive --prune)"
        )
    for waiver in report["waivers"]["unverified"]:
        lines.append(
            f"no verdict: waiver {waiver['key']} (line {waiver['line']}): its requirement was "
            "not checked, so the debt it accepts could not be observed"
        )
    baseline = report.get("baseline")
    for old in (baseline or {}).get("unseen", []):
        lines.append(
            f"no verdict: {old['id']} of the baseline could not be seen again: its requirement "
            "was not checked completely (--fail-on new)"
        )
    if baseline:
        fixed = " ".join(f["id"] for f in baseline["fixed"])
        lines.append(
            f"since {visible(baseline['file'])}: {baseline['new']} new, {baseline['unchanged']} "
            f"unchanged, {len(baseline['fixed'])} fixed{': ' + fixed if fixed else ''}"
        )
    return lines


def _class_lines(row: Mapping[str, Any], report_dir: Path) -> list[str]:
    """One line per failing class shown: how many examples, what else it broke, its example's message."""
    lines = []
    for example in row["counterexamples"][:_CONSOLE_CLASSES]:
        count = f"[{_counted(example['count'], 'example')}] " if example["count"] > 1 else ""
        also = (
            f"(also affects {', '.join(example['also_affects'])}) "
            if example["also_affects"]
            else ""
        )
        lines.append(_clipped(f"    - {example['id']} {count}{also}{visible(example['message'])}"))
    hidden = row["failing_classes"] - min(len(row["counterexamples"]), _CONSOLE_CLASSES)
    if hidden > 0:
        more = _counted(hidden, "more failing class")
        lines.append(f"    ... and {more} (see {report_dir}/conformance.md)")
    return lines


def _clipped(text: str, width: int = 300) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# The files write_human_reports writes.
_HTML, _MARKDOWN, _BADGE = "conformance.html", "conformance.md", "badge.svg"


def write_human_reports(report: Mapping[str, Any], report_dir: Path) -> list[Path]:
    """Write conformance.html, conformance.md and badge.svg; append the Markdown to
    ``$GITHUB_STEP_SUMMARY`` when that is set."""
    outputs = {
        _HTML: render_html(report),
        _MARKDOWN: render_markdown(report),
        _BADGE: render_badge(report),
    }
    paths = []
    for name, text in outputs.items():
        path = report_dir / name
        # What escaped being made visible still cannot stop the report being written.
        write_atomic(path, text.encode("utf-8", "backslashreplace"))
        paths.append(path)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8", errors="backslashreplace") as stream:
            stream.write(outputs[_MARKDOWN])
    return paths


def show_command_reports(
    report: Mapping[str, Any], report_dir: Path, *, case: str, redactor: Any
) -> int:
    """:func:`write_command_reports`, then the console table; the exit code. A folder that
    refuses the reports does not hide the verdict: the table is shown, led by why no gate
    gets it (no verdict)."""
    from jobs_conformance.errors import ReportsNotWritten

    problem = None
    try:
        code = write_command_reports(report, report_dir, case=case, redactor=redactor)
    except ReportsNotWritten as exc:
        code, problem = int(exc.exit_code), str(exc)
    for line in render_console(report, report_dir=report_dir, problem=problem):
        print(line.text)
    return code


def write_command_reports(
    report: Mapping[str, Any], report_dir: Path, *, case: str, redactor: Any
) -> int:
    """Every report of a command that judges without pytest (observe, audit): the record, a
    one-case JUnit named ``case``, HTML, Markdown and badge; the exit code of the verdict.
    :class:`~jobs_conformance.errors.ReportsNotWritten` when the folder refuses them."""
    from jobs_conformance.errors import ExitCode, ReportsNotWritten
    from jobs_conformance.report import (
        JUNIT_FILE,
        RECORD_FILE,
        CaseOutcome,
        write_json,
        write_junit,
    )

    try:
        write_json(report, report_dir)
        outcome = {"pass": "passed", "fail": "failed"}.get(report["verdict"], "error")
        note = report["notes"][0] if report["notes"] else ""
        write_junit(
            [CaseOutcome(case, outcome, 0.0, (), note)],
            report_dir,
            redactor=redactor,
            findings=report["findings"],
        )
        write_human_reports(report, report_dir)
    except OSError as exc:
        # A gate that reads the folder must not take an earlier command's verdict for this one.
        for name in (RECORD_FILE, JUNIT_FILE, _HTML, _MARKDOWN, _BADGE):
            with contextlib.suppress(OSError):
                (report_dir / name).unlink(missing_ok=True)
        raise ReportsNotWritten(
            f"the reports could not be written to {report_dir}/ ({exc.strerror or exc}); "
            "none is left there"
        ) from exc
    verdicts = {"pass": ExitCode.CONFORMING, "fail": ExitCode.VIOLATIONS}
    return int(verdicts.get(report["verdict"], ExitCode.NO_VERDICT))
