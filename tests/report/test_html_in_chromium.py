"""The HTML report in a real browser: headless Chromium renders it, scripts in it would run,
and the DOM it ends with is asserted on."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from jobs_conformance.contract import load_contract
from jobs_conformance.render import write_human_reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian package 'chromium'; .ci/run installs it)",
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _dump_dom(tmp_path, html_path) -> str:
    result = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_rendered_dom_shows_verdict_rows_and_counterexamples_and_nothing_hostile(tmp_path, report):
    write_human_reports(report, tmp_path)
    dom = _dump_dom(tmp_path, tmp_path / "conformance.html")
    assert 'id="verdict"' in dom and "Verdict: FAIL" in dom
    assert dom.count('<tr data-requirement="') == len(load_contract().requirements)
    assert dom.count('<section class="example"') >= 3
    assert "contains the non-ASCII character U+202E" in dom  # the bidi override, named not applied
    # The target's <script> and <img onerror> arrive as text: no element was
    # inserted and no script ran (it would have set the title or a data-* attribute).
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;document.title" in dom
    assert "<title>Conformance report: FAIL</title>" in dom
    assert "data-pwned" not in dom


def test_control_unescaped_markup_would_be_caught(tmp_path):
    # The same payload written raw: Chromium runs it, so the assertions above
    # are ones that can fail.
    from .conftest import HOSTILE_NAME

    page = tmp_path / "raw.html"
    page.write_text(
        f"<!doctype html><html><head><title>t</title></head><body>{HOSTILE_NAME}</body></html>"
    )
    dom = _dump_dom(tmp_path, page)
    assert "<title>PWNED</title>" in dom
    assert "<img" in dom
