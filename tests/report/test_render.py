"""HTML, Markdown, JUnit and JSON stay well-formed and inert whatever the target sent."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import jsonschema
from tests_support import run_cli_in_process, usage_error

from jobs_conformance.contract import default_spec_dir, load_contract
from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent
from jobs_conformance.invocation import command_line
from jobs_conformance.oracle import judge
from jobs_conformance.redact import Redactor
from jobs_conformance.render import (
    curl_command,
    render_badge,
    render_console,
    render_html,
    render_markdown,
    write_human_reports,
)
from jobs_conformance.report import CaseOutcome, write_json, write_junit
from jobs_conformance.results import MAX_CLASSES_SHOWN, Results

from .conftest import HOSTILE_NAME, SECRET, report_of

pytest_plugins = ["pytester"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def test_report_has_failures_and_validates(report):
    schema = json.loads((default_spec_dir() / "conformance.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    assert report["verdict"] == "fail"
    assert {r["id"] for r in report["requirements"] if r["status"] == "fail"} >= {
        "body.json",
        "body.datetime",
        "http.content-type",
    }


def test_html_carries_no_markup_from_the_target(report):
    html = render_html(report)
    parsed = _parse(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert "onerror" not in parsed.attributes
    assert "&lt;script&gt;" in html
    assert "\x00" not in html and "\x1b" not in html and "\u202e" not in html
    assert "\\u0000" in html and "\\u202e" in html
    assert html.count('data-requirement="') == len(load_contract().requirements)


def test_markdown_keeps_target_text_inert(report):
    markdown = render_markdown(report)
    # Outside fenced blocks and code spans, no HTML tag may appear: GitHub
    # would render it.
    inside_fence = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            inside_fence = not inside_fence
            continue
        if not inside_fence:
            prose = re.sub(r"(`+) .*? \1", "", line)
            assert not re.search(r"<[A-Za-z!/]", prose), line
    assert "\x00" not in markdown and "\x1b" not in markdown
    assert markdown.startswith("## Conformance: FAIL")


def test_junit_and_json_are_well_formed_with_controls_and_invalid_utf8(tmp_path, report):
    redactor = Redactor([SECRET])
    outcomes = [
        CaseOutcome(
            "tests/contract/test_x.py::test_hostile[0]",
            "failed",
            0.1,
            ("body.json",),
            "body.json: \x00\x1b <b>]]> \udcff " + HOSTILE_NAME,
        ),
        CaseOutcome("tests/contract/test_x.py::test_ok", "passed", 0.1, ("http.unknown-404",)),
    ]
    write_junit(outcomes, tmp_path, redactor=redactor)
    write_json(report, tmp_path)
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("failures") == "1"
    failure = suite.find("testcase/failure")
    assert "<b>" in failure.text and "\\u0000" in failure.text
    assert json.loads((tmp_path / "conformance.json").read_text())["verdict"] == "fail"


def test_badge_says_verdict_and_count(report):
    svg = render_badge(report)
    met = sum(r["status"] == "pass" for r in report["requirements"])
    ET.fromstring(svg)
    assert f"fail {met}/{len(report['requirements'])}" in svg


def test_curl_reproduction_is_quoted_and_redacted(report):
    example = next(r for r in report["requirements"] if r["id"] == "body.datetime")[
        "counterexamples"
    ][0]
    command = curl_command(example["request"])
    assert command.startswith(
        "curl -i -X GET -H 'Authorization: [REDACTED]' http://127.0.0.1:9/api/v2/jobs/"
    )
    assert SECRET not in command
    assert curl_command({"method": "GET", "url": "http://h/x'; rm -rf /", "headers": {}}).endswith(
        "'http://h/x'\"'\"'; rm -rf /'"
    )


def test_no_secret_in_any_rendered_output(tmp_path, report, monkeypatch):
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_json(report, tmp_path)
    write_human_reports(report, tmp_path)
    assert summary.read_text().startswith("## Conformance: FAIL")
    for path in tmp_path.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name


def test_report_command_re_renders_a_saved_report(tmp_path, report):
    import subprocess

    source = tmp_path / "in" / "conformance.json"
    source.parent.mkdir()
    source.write_text(json.dumps(report))
    result = subprocess.run(
        command_line(
            "report",
            "--from",
            str(source),
            "--report-dir",
            str(tmp_path / "out"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "badge.svg",
        "conformance.html",
        "conformance.md",
    ]
    assert (tmp_path / "out" / "conformance.html").read_text() == render_html(report)
    broken = tmp_path / "broken.json"
    broken.write_text('{"verdict": "maybe"}')
    for bad in (broken, tmp_path / "missing.json"):
        assert "--from" in usage_error("report", "--from", str(bad))


def test_run_writes_every_report(pytester, tmp_path):
    code, _, _, _ = run_cli_in_process(pytester, "--max-requests", "30", report_dir=tmp_path / "r")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "badge.svg",
        "conformance.html",
        "conformance.json",
        "conformance.md",
        "junit.xml",
    ]


def _classes_report(classes: int) -> dict:
    """A report whose http.malformed-4xx failed in ``classes`` classes, each a page answered 200."""
    results = Results(load_contract())
    for n in range(classes):
        for size in (1, 2):  # two examples a class; the shorter is the one shown
            raw = f"{{{'x' * size}{n}}}"
            exchange = Exchange(
                HttpResponse(200, (("Content-Type", "text/html"),), b"<html>"),
                Intent.MALFORMED,
                HttpRequest("GET", f"http://127.0.0.1:1/api/v2/jobs/{raw}"),
                raw,
                label=f"form-{n:02d}",
            )
            results.observe(exchange, judge(exchange), test="t")
    return report_of(results)


def test_every_shown_class_is_rendered_with_its_count_and_what_it_also_affects(tmp_path):
    report = _classes_report(MAX_CLASSES_SHOWN + 2)
    (row,) = [r for r in report["requirements"] if r["id"] == "http.malformed-4xx"]
    assert (row["failed"], row["failing_classes"], len(row["counterexamples"])) == (
        2 * (MAX_CLASSES_SHOWN + 2),
        MAX_CLASSES_SHOWN + 2,
        MAX_CLASSES_SHOWN,
    )
    for example in row["counterexamples"]:
        n = int(example["class"].removeprefix("form-"))
        assert example["count"] == 2 and example["request"]["url"].endswith(f"/{{x{n}}}")
    body_json = next(r for r in report["requirements"] if r["id"] == "body.json")
    assert body_json["also_affected_by"] == ["http.malformed-4xx"]

    console = "\n".join(line.text for line in render_console(report, report_dir=tmp_path))
    assert re.search(
        rf"http\.malformed-4xx +must +fail +{2 * (MAX_CLASSES_SHOWN + 2)} +{2 * (MAX_CLASSES_SHOWN + 2)} +{MAX_CLASSES_SHOWN + 2}\n",
        console,
    ), console
    assert console.count("[2 examples] (also affects body.json, http.content-type)") == 5
    assert f"... and {MAX_CLASSES_SHOWN + 2 - 5} more failing classes" in console
    assert "also affected by the findings of http.malformed-4xx" in console

    markdown = render_markdown(report)
    assert markdown.count("(2 examples; finding `http.malformed-4xx#") == MAX_CLASSES_SHOWN
    # Every row that is neither pass nor fail says why, once per reason.
    assert (
        "`body.json`, `http.content-type`: affected by the findings of `http.malformed-4xx`"
        in markdown
    )
    (unchecked,) = [line for line in markdown.splitlines() if line.endswith(": not checked: ")]
    assert "`auth.required`" in unchecked and "`http.malformed-4xx`" not in unchecked
    assert "in 14 failing classes (2 more not shown)" in markdown
    html = render_html(report)
    assert html.count('data-class="form-') == MAX_CLASSES_SHOWN
    # Every finding carries its id, in every report, and all of them are listed in the record.
    assert len(report["findings"]) == MAX_CLASSES_SHOWN + 2
    for n, example in enumerate(row["counterexamples"]):
        assert example["id"] in html and example["id"] in markdown
        assert (example["id"] in console) == (n < 5)  # the terminal shows five
    assert "also affects body.json, http.content-type" in html
