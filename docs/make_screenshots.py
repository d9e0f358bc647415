"""Regenerate the report screenshots in docs/ (headless Chromium, Debian package 'chromium').

    python docs/make_screenshots.py

Runs the suite against the embedded reference and against the reference with
three faults, then photographs each conformance.html.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from jobs_conformance.invocation import command_line
from jobs_conformance.reference.server import ReferenceServer

DOCS = Path(__file__).resolve().parent
FAULTS = ["ts-feb29-non-leap", "python-dollar", "content-type-text"]


def _run(report_dir: Path, *args: str) -> None:
    subprocess.run(
        command_line(
            "run",
            "--report-dir",
            str(report_dir),
            *args,
        ),
        check=False,
    )


def _shoot(html: Path, png: Path, profile: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1280,1600",
            f"--screenshot={png}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        _run(work / "reference")
        with ReferenceServer(faults=FAULTS) as server:
            ids = work / "ids.txt"
            ids.write_text("\n".join(server.job_ids()))
            _run(work / "faulty", "--base-url", server.base_url, "--job-ids-file", str(ids))
        _shoot(
            work / "reference" / "conformance.html", DOCS / "report-reference.png", work / "profile"
        )
        _shoot(work / "faulty" / "conformance.html", DOCS / "report-faulty.png", work / "profile")
    print("wrote", DOCS / "report-reference.png", DOCS / "report-faulty.png")


if __name__ == "__main__":
    main()
