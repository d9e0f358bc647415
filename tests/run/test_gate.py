"""Adopting the gate over real HTTP: waivers with expiry, confirmed (or flaky) findings, and what
changed since a baseline. Whole runs in this process (see test_self_test.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tests_support import run_against, run_in_process

from jobs_conformance.cli import main as cli
from jobs_conformance.reference.server import ReferenceServer

pytest_plugins = ["pytester"]

# A: both timestamps of every job end in +00:00 (two findings); B: text/plain bodies.
FAULT_A, FAULT_B = "ts-offset", "content-type-text"


def _run(pytester: pytest.Pytester, faults: list[str], name: str, *args: str, wrap=None):
    """A run against the reference with ``faults`` (its app wrapped in ``wrap``, if given)."""
    server = ReferenceServer(faults=faults)
    if wrap is not None:
        server.app = wrap(server.app)
    with server:
        code, report, output = run_against(
            pytester,
            server,
            *args,
            job_ids=server.job_ids()[1:3],
            report_dir=pytester.path / name,
        )
    return code, report, output


def _waive_everything(pytester: pytest.Pytester, report_dir: str, expires: str) -> Path:
    report = json.loads((pytester.path / report_dir / "conformance.json").read_text())
    waivers = pytester.path / "waivers.toml"
    ids = [f["id"] for f in report["findings"]]
    assert ids
    assert (
        cli(
            [
                "waive",
                *ids,
                "--from",
                str(pytester.path / report_dir / "conformance.json"),
                "--reason",
                'offsets from the ORM, "fix" in JOBS-7',
                "--expires",
                expires,
                "--waivers",
                str(waivers),
            ]
        )
        == 0
    )
    return waivers


def test_waived_debt_passes_is_listed_everywhere_and_expires(pytester):
    code, first, output = _run(pytester, [FAULT_A], "first")
    assert code == 1, output
    waivers = _waive_everything(pytester, "first", "2099-12-31")
    debt = {f["id"] for f in first["findings"]}

    # Waived: exit 0, and A is debt in every report.
    code, report, output = _run(
        pytester, [FAULT_A], "waived", "--conformance-waivers", str(waivers)
    )
    assert code == 0, output
    assert {f["id"]: f["status"] for f in report["findings"]} == dict.fromkeys(debt, "waived")
    assert all(f["waiver"]["days_left"] > 0 and not f["fails_run"] for f in report["findings"])
    folder = pytester.path / "waived"
    markdown = (folder / "conformance.md").read_text()
    html = (folder / "conformance.html").read_text()
    for finding in debt:
        assert finding in markdown and finding in html and finding in output
    assert "waived" in markdown and 'data-status="waived"' in html
    skipped = [
        case
        for case in ET.parse(folder / "junit.xml").getroot().iter("testcase")
        if case.find("skipped") is not None and "waived:" in case.find("skipped").get("message")
    ]
    assert skipped, "JUnit shows the waived test as skipped, with the reason"

    # B added: exit 1, naming only B.
    code, report, output = _run(
        pytester, [FAULT_A, FAULT_B], "both", "--conformance-waivers", str(waivers)
    )
    assert code == 1, output
    failing = {f["requirement"] for f in report["findings"] if f["fails_run"]}
    assert failing == {"http.content-type"}
    # JUnit names which findings fail the test, and which it saw that are debt.
    junit = (pytester.path / "both" / "junit.xml").read_text()
    assert "failing findings: http.content-type#" in junit and "waived: " in junit

    # A fixed: its waivers are stale; a warning, and a failure under --strict-waivers.
    code, report, output = _run(pytester, [], "fixed", "--conformance-waivers", str(waivers))
    assert code == 0 and "is stale" in output, output
    assert {w["key"] for w in report["waivers"]["stale"]} == debt
    code, _, output = _run(
        pytester,
        [],
        "strict",
        "--conformance-waivers",
        str(waivers),
        "--conformance-strict-waivers",
    )
    assert code == 1, output

    # The date passed: expired, and the run fails.
    expired = pytester.path / "expired.toml"
    expired.write_text(waivers.read_text().replace("2099-12-31", "2020-01-01"))
    code, report, output = _run(
        pytester, [FAULT_A], "expired", "--conformance-waivers", str(expired)
    )
    assert code == 1, output
    assert {f["status"] for f in report["findings"]} == {"expired"}

    # A budget too small to check A's requirement: no verdict, not a silent pass.
    code, report, output = _run(
        pytester,
        [FAULT_A],
        "budget",
        "--conformance-waivers",
        str(waivers),
        "--conformance-max-requests",
        "1",
    )
    assert code == 2, output
    assert {w["key"] for w in report["waivers"]["unverified"]} == debt

    # --prune removes the stale ones the fixed run found.
    assert (
        cli(
            [
                "waive",
                "--prune",
                "--from",
                str(pytester.path / "fixed" / "conformance.json"),
                "--waivers",
                str(waivers),
            ]
        )
        == 0
    )
    assert "\n[[waiver]]" not in waivers.read_text()


def test_a_malformed_waiver_file_is_a_usage_error_naming_the_line(pytester):
    bad = pytester.path / "bad.toml"
    bad.write_text(
        '[[waiver]]\nfinding = "body.datetime#8103fda3"\nreason = "x"\n'
        'expires = 2027-01-01\ncolour = "red"\n'
    )
    code, report, output = _run(pytester, [FAULT_A], "bad", "--conformance-waivers", str(bad))
    assert code == 4 and report is None
    assert f"{bad}:5" in output and "colour" in output


def test_an_intermittent_failure_is_flaky_and_passes_only_with_flaky_warn(pytester):
    # Each unknown id is a 500, then a 404, then a 500: found, then reproduced 2 of 3 times.
    code, report, output = _run(pytester, ["intermittent-500"], "flaky")
    assert code == 1, output
    assert report["findings"]
    assert {f["requirement"] for f in report["findings"]} == {"http.unknown-404"}
    assert {(f["status"], tuple(f["reproduced"])) for f in report["findings"]} == {
        ("flaky", (2, 3))
    }
    assert "flaky 2/3; fails the run" in output
    code, report, output = _run(
        pytester, ["intermittent-500"], "warn", "--conformance-flaky", "warn"
    )
    assert code == 0, output
    assert {f["status"] for f in report["findings"]} == {"flaky"}
    assert "flaky 2/3; does not fail the run" in output


def test_what_changed_since_a_baseline_and_failing_only_on_new_findings(pytester):
    code, old, _ = _run(pytester, [FAULT_A], "old")
    assert code == 1
    baseline = str(pytester.path / "old" / "conformance.json")
    a = {f["id"] for f in old["findings"]}

    # A removed, B added: B new, A fixed.
    code, report, output = _run(pytester, [FAULT_B], "new", "--conformance-baseline", baseline)
    assert code == 1, output
    assert {f["since_baseline"] for f in report["findings"]} == {"new"}
    assert {f["id"] for f in report["baseline"]["fixed"]} == a
    assert "1 new, 0 unchanged, 2 fixed" in output

    # Only old findings: unchanged, and --fail-on new passes.
    code, report, output = _run(
        pytester,
        [FAULT_A],
        "same",
        "--conformance-baseline",
        baseline,
        "--conformance-fail-on",
        "new",
    )
    assert code == 0, output
    assert {f["since_baseline"] for f in report["findings"]} == {"unchanged"}

    # Old findings this run could not see again (no held job declared): no verdict.
    with ReferenceServer(faults=[FAULT_A]) as server:
        code, report, output = run_in_process(
            pytester,
            "--base-url",
            server.base_url,
            "--conformance-baseline",
            baseline,
            "--conformance-fail-on",
            "new",
            report_dir=pytester.path / "unseen",
        )
    assert code == 2, output
    assert {f["id"] for f in report["baseline"]["unseen"]} == a

    # The same comparison from the two records, without running again.
    new = str(pytester.path / "new" / "conformance.json")
    before = (pytester.path / "new" / "conformance.md").read_text()
    assert cli(["report", "--compare", baseline, new]) == 0
    # The comparison alone leaves the newer run's reports as its run wrote them.
    assert (pytester.path / "new" / "conformance.md").read_text() == before
    cmp = str(pytester.path / "cmp")
    assert cli(["report", "--compare", baseline, new, "--report-dir", cmp]) == 0
    assert "new since the baseline" in (pytester.path / "cmp" / "conformance.md").read_text()


def _versioned(app, version: str, after: tuple[int, str] | None = None):
    """The reference app, naming its version in every answer (as a deployment does); with
    ``after`` (n, other), naming ``other`` from the n-th answer on (a rollout)."""
    answered = iter(range(10**9))

    def serve(environ, start_response):
        shown = version if after is None or next(answered) < after[0] else after[1]

        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, ("X-Service-Version", shown)], exc_info)

        return app(environ, start)

    return serve


@pytest.mark.parametrize(
    ("faults", "served", "after", "code"),
    [
        ([], "2.4.0", None, 0),
        ([], "2.3.1", None, 2),
        # A rollout under way: no verdict, whatever was found.
        ([FAULT_A], "2.4.0", (20, "2.3.1"), 2),
    ],
)
def test_the_report_records_what_was_tested_and_another_version_is_no_verdict(
    pytester, faults, served, after, code
):
    got, report, output = _run(
        pytester,
        faults,
        "r",
        "--conformance-version-header",
        "X-Service-Version",
        "--conformance-expect-version",
        "2.4.0",
        wrap=lambda app: _versioned(app, served, after),
    )
    assert got == code, output
    identity = report["target_identity"]
    assert (
        identity["addresses"] == ["127.0.0.1"] and identity["version_header"] == "X-Service-Version"
    )
    assert set(identity["versions"]) == {served, *(after[1:] if after else ())}
    if code:
        assert "another version than '2.4.0'" in output and "'2.3.1'" in output
        assert report["verdict"] == "incomplete"


def test_accepting_todays_findings_makes_the_next_run_against_the_same_target_pass(pytester):
    # only-v1-v5 is found by property tests: what they explore must not depend on
    # what was waived (or is in the baseline), or new findings would appear.
    code, first, _ = _run(pytester, ["only-v1-v5"], "first")
    assert code == 1
    waivers = _waive_everything(pytester, "first", "2099-12-31")
    code, report, output = _run(
        pytester, ["only-v1-v5"], "again", "--conformance-waivers", str(waivers)
    )
    assert code == 0, output
    assert {f["id"] for f in report["findings"]} == {f["id"] for f in first["findings"]}
    # Waiving again renews the waiver instead of doubling it.
    _waive_everything(pytester, "first", "2099-12-30")
    assert waivers.read_text().count("[[waiver]]\n") == len(first["findings"])
    code, _, output = _run(
        pytester,
        ["only-v1-v5"],
        "ratchet",
        "--conformance-baseline",
        str(pytester.path / "first" / "conformance.json"),
        "--conformance-fail-on",
        "new",
    )
    assert code == 0, output


def test_debt_in_requirements_a_run_cut_short_or_cannot_check_is_never_stale(pytester):
    code, _, _ = _run(pytester, ["lenient-uuid-module"], "first")
    assert code == 1
    waivers = _waive_everything(pytester, "first", "2099-12-31")
    # A budget cuts every requirement short: nothing is stale, and debt it did not
    # see again has no verdict.
    code, report, output = _run(
        pytester,
        ["lenient-uuid-module"],
        "budget",
        "--conformance-waivers",
        str(waivers),
        "--conformance-max-requests",
        "60",
    )
    assert report["waivers"]["stale"] == [] and code == 2, output
    # A waiver of a requirement this configuration cannot check (no seeding URL) is
    # left alone: neither stale nor unverified.
    with waivers.open("a") as stream:
        stream.write(
            '\n[[waiver]]\nrequirement = "seed.round-trip"\nclass = "createdAt"\n'
            'reason = "x"\nexpires = 2099-01-01\n'
        )
    code, report, output = _run(pytester, [], "fixed", "--conformance-waivers", str(waivers))
    assert code == 0, output
    assert "seed.round-trip" not in json.dumps(report["waivers"])
