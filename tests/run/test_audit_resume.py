"""audit: what a resumed audit counts, which records and lists it refuses, and the jobs it
could not judge; against a small reference on a loopback port, in this process.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests_support import DOC_EXAMPLE, counts_of

from jobs_conformance.cli import main as cli
from jobs_conformance.reference.server import ReferenceServer

HELD = [str(uuid.UUID(int=n, version=4)) for n in range(1, 41)]
UNKNOWN = [str(uuid.UUID(int=10**6 + n, version=4)) for n in range(5)]
THROTTLED = HELD[7]  # answered TROUBLE["answer"] (429 with Retry-After: 0), however often
# What the service answers for the ids of "who" (THROTTLED): a test changes it (and it is
# put back after each).
TROUBLE: dict[str, Any] = {"answer": "429", "who": {THROTTLED}}
ASKED: list[str] = []  # every id the service was asked for, in order (a test clears it)
ROUND = 16  # --workers 1: a checkpoint every 16 ids
STATUS_KNOWN = "http.status-known"


@dataclass(frozen=True)
class Service:
    base_url: str  # the documented /api/v2
    root: str  # the same server without it: every job answered 404


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    """A reference holding HELD, throttling THROTTLED when ``throttle`` is on."""
    server = ReferenceServer()
    server.store.put_many({**DOC_EXAMPLE, "id": i} for i in HELD)
    app = server.app

    def throttling(environ: dict[str, Any], start_response: Any) -> Any:
        ASKED.append(environ.get("PATH_INFO", "").rpartition("/")[2])
        answer = TROUBLE["answer"]
        if answer is None or environ.get("PATH_INFO", "").rpartition("/")[2] not in TROUBLE["who"]:
            return app(environ, start_response)
        if answer == "cut":  # a body the peer cuts off: fewer bytes than it announced
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", "5000")]
            )
            return [b'{"id": "' + THROTTLED.encode()]
        start_response(f"{answer} Trouble", [("Retry-After", "0")])
        return [b""]

    server.app = throttling
    with server:
        yield Service(server.base_url, server.base_url.removesuffix("/api/v2"))


@pytest.fixture(autouse=True)
def _throttled_again() -> Iterator[None]:
    yield
    TROUBLE.update(answer="429", who={THROTTLED})


def _audit(base_url: str, folder: Path, ids: list[str], *extra: str) -> int:
    listed = folder / "ids.txt"
    listed.parent.mkdir(parents=True, exist_ok=True)
    listed.write_text("\n".join(ids) + "\n")
    return cli(
        [
            "audit",
            "--base-url",
            base_url,
            "--job-ids-file",
            str(listed),
            "--report-dir",
            str(folder / "r"),
            "--workers",
            "1",
            *extra,
        ]
    )


def _report(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "r" / "conformance.json").read_text())


def _cut_after_first_checkpoint(folder: Path) -> list[str]:
    """The record as an audit interrupted after its first round leaves it."""
    record = folder / "r" / "audit.ndjson"
    lines = record.read_text().splitlines()
    first = next(n for n, line in enumerate(lines) if '"checkpoint"' in line)
    record.write_text("\n".join(lines[: first + 1]) + "\n" + lines[first + 1][:10])
    return lines[: first + 1]


# Unknown ids first, then held ones not throttled: the findings are all in the first round.
LISTED = [*UNKNOWN, *(i for i in HELD if i != THROTTLED)]


def test_a_resumed_audit_counts_the_findings_before_its_checkpoint(
    service: Service, tmp_path: Path
) -> None:
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    whole = _report(tmp_path)
    _cut_after_first_checkpoint(tmp_path)
    assert _audit(service.base_url, tmp_path, LISTED, "--resume") == 1
    resumed = _report(tmp_path)
    assert resumed["audit"]["resumed_after"] == ROUND
    assert counts_of(resumed) == counts_of(whole)
    assert {f["requirement"] for f in resumed["findings"]} == {STATUS_KNOWN}
    assert sum(f["count"] for f in resumed["findings"]) == len(UNKNOWN)
    rows = {r["id"]: r for r in resumed["requirements"]}
    assert rows[STATUS_KNOWN]["counterexamples"] == [], "no example is made up"
    assert "the 5 findings recorded before the checkpoint" in resumed["notes"][0]
    assert resumed["audit"]["samples"] == whole["audit"]["samples"]


def test_a_resumed_audit_applies_waivers_to_the_findings_before_its_checkpoint(
    service: Service, tmp_path: Path
) -> None:
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    waive = [f["id"] for f in _report(tmp_path)["findings"]]
    report = str(tmp_path / "r" / "conformance.json")
    waivers = ["--waivers", str(tmp_path / "waivers.toml")]
    assert cli(["waive", *waive, "--from", report, "--reason", "known", "--expires", "2999-01-01", *waivers]) == 0  # fmt: skip
    _cut_after_first_checkpoint(tmp_path)
    assert _audit(service.base_url, tmp_path, LISTED, "--resume", *waivers) == 0
    resumed = _report(tmp_path)
    assert {f["status"] for f in resumed["findings"]} == {"waived"}
    assert resumed["waivers"]["stale"] == [], "matched by findings before the checkpoint"
    # --strict-waivers does not fail on them either: they were seen.
    _cut_after_first_checkpoint(tmp_path)
    assert _audit(service.base_url, tmp_path, LISTED, "--resume", "--strict-waivers", *waivers) == 0


def test_a_resume_over_another_list_is_refused(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    kept = _cut_after_first_checkpoint(tmp_path)
    record = tmp_path / "r" / "audit.ndjson"
    before = record.read_bytes()
    other = [LISTED[1], LISTED[0], *LISTED[2:]]  # the same ids, another order
    capsys.readouterr()
    assert _audit(service.base_url, tmp_path, other, "--resume") == 4
    error = capsys.readouterr().err
    assert f"the checkpoint at {record}:{len(kept)} was written for" in error
    assert f"its first {ROUND} ids differ" in error
    assert record.read_bytes() == before, "the record is left as it was"
    assert _audit(service.base_url, tmp_path, LISTED[:3], "--resume") == 4, "fewer ids"
    assert f"it lists 3 ids, the checkpoint counts {ROUND}" in capsys.readouterr().err


def test_a_checkpoint_without_a_hash_is_taken_with_a_note(service: Service, tmp_path: Path) -> None:
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    kept = _cut_after_first_checkpoint(tmp_path)
    # As the version before the hash wrote it.
    old = [*kept[:-1], json.dumps({"checkpoint": json.loads(kept[-1])["checkpoint"]})]
    (tmp_path / "r" / "audit.ndjson").write_text("\n".join(old) + "\n")
    assert _audit(service.base_url, tmp_path, LISTED, "--resume") == 1
    report = _report(tmp_path)
    assert sum(f["count"] for f in report["findings"]) == len(UNKNOWN)
    assert any("without a hash of the ids" in note for note in report["notes"])


@pytest.mark.parametrize(
    "checkpoint",
    ['"abc"', "null", "-5", "1e23", "1e400", "true", "2.0", str(len(LISTED) + 1)],
)
def test_a_bad_checkpoint_is_a_usage_error_naming_its_line(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str], checkpoint: str
) -> None:
    record = tmp_path / "r" / "audit.ndjson"
    record.parent.mkdir(parents=True)
    record.write_text(f'{{"job": "{UNKNOWN[0]}", "error": "x"}}\n{{"checkpoint": {checkpoint}}}\n')
    assert _audit(service.base_url, tmp_path, LISTED, "--resume") == 4
    error = capsys.readouterr().err
    assert "Traceback" not in error
    where = f"{record}:2" if checkpoint != str(len(LISTED) + 1) else f"{record}:2 was written for"
    assert where in error


def test_a_record_that_is_a_folder_is_a_usage_error(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r" / "audit.ndjson").mkdir(parents=True)
    for resume in ((), ("--resume",)):
        assert _audit(service.base_url, tmp_path, LISTED, *resume) == 4
        assert "audit.ndjson is a file" in capsys.readouterr().err


def test_a_bad_line_before_the_last_checkpoint_is_refused_and_one_after_it_is_cut(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    record = tmp_path / "r" / "audit.ndjson"
    lines = record.read_text().splitlines()
    # Garbage between two jobs' lines of the first round: its later lines are not dropped.
    record.write_text("\n".join([lines[0], "garbage", *lines[1:]]) + "\n")
    kept = record.read_bytes()
    assert _audit(service.base_url, tmp_path, LISTED, "--resume") == 4
    assert f"{record}:2" in capsys.readouterr().err
    assert record.read_bytes() == kept
    # After the last checkpoint: the interruption's, judged again.
    record.write_text("\n".join([*lines, "garb"]) + "\n")
    assert _audit(service.base_url, tmp_path, LISTED, "--resume") == 1
    assert record.read_text().splitlines() == lines
    assert sum(f["count"] for f in _report(tmp_path)["findings"]) == len(UNKNOWN)


@pytest.mark.parametrize(
    ("answer", "said"),
    [("429", "too many requests"), ("401", "credentials refused"), ("503", "unavailable")],
)
def test_a_target_that_cannot_answer_stops_the_audit_at_its_checkpoint_for_resume(
    service: Service, tmp_path: Path, answer: str, said: str
) -> None:
    # Throttled past the client's waits, credentials expired, an outage: nothing of the job.
    listed = [i for i in HELD if i != THROTTLED]
    listed.insert(ROUND + 3, THROTTLED)  # in the second round
    TROUBLE["answer"] = answer
    assert _audit(service.base_url, tmp_path, listed) == 2
    record = tmp_path / "r" / "audit.ndjson"
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    # Every job before it is checkpointed (the first round, and three of the second); it
    # is not written as judged.
    assert [line["checkpoint"] for line in lines if "checkpoint" in line] == [ROUND, ROUND + 3]
    assert not any(line.get("job") == THROTTLED for line in lines)
    report = _report(tmp_path)
    assert report["verdict"] == "incomplete" and report["audit"]["jobs"] == ROUND + 3
    (error,) = report["errors"]
    assert THROTTLED in error and said in error and "--resume" in error
    # A rerun without --resume keeps the progress; once the target answers, --resume goes on.
    assert _audit(service.base_url, tmp_path, listed) == 4
    TROUBLE["answer"] = None
    assert _audit(service.base_url, tmp_path, listed, "--resume") == 0
    resumed = _report(tmp_path)
    assert resumed["audit"] == {**resumed["audit"], "jobs": len(listed), "resumed_after": ROUND + 3}


def test_an_answer_the_peer_cut_off_is_an_error_not_a_finding(
    service: Service, tmp_path: Path
) -> None:
    TROUBLE["answer"] = "cut"
    assert _audit(service.base_url, tmp_path, HELD[:10]) == 2
    report = _report(tmp_path)
    assert report["findings"] == []
    (error,) = report["errors"]
    assert error.startswith(f"{THROTTLED}: its answer was cut off")


def test_held_jobs_not_found_are_one_finding_a_status_and_a_waiver_covers_one(
    service: Service, tmp_path: Path
) -> None:
    # Jobs deleted since the list was made (404), and one the service fails on (500): two
    # behaviours, two findings. One class for both let a waiver of the deletions hide a crash.
    crashing = HELD[2]
    TROUBLE.update(answer="500", who={crashing})
    listed = [*UNKNOWN[:2], *HELD[:4]]
    assert _audit(service.base_url, tmp_path, listed) == 1
    findings = {f["class"]: f for f in _report(tmp_path)["findings"]}
    assert set(findings) == {"held jobs answered 404", "held jobs answered 500"}
    assert {f["requirement"] for f in findings.values()} == {STATUS_KNOWN}
    assert [findings["held jobs answered 500"]["count"], findings["held jobs answered 404"]["count"]] == [1, 2]  # fmt: skip
    report = str(tmp_path / "r" / "conformance.json")
    waivers = ["--waivers", str(tmp_path / "waivers.toml")]
    deleted = findings["held jobs answered 404"]["id"]
    assert cli(["waive", deleted, "--from", report, "--reason", "deleted", "--expires", "2999-01-01", *waivers]) == 0  # fmt: skip
    assert _audit(service.base_url, tmp_path, listed, "--restart", *waivers) == 1
    statuses = {f["class"]: f["status"] for f in _report(tmp_path)["findings"]}
    assert statuses == {"held jobs answered 404": "waived", "held jobs answered 500": "new"}


def test_one_behaviour_of_many_listed_jobs_is_one_finding_with_samples(
    service: Service, tmp_path: Path
) -> None:
    # Five listed jobs the target does not hold: one finding, counted five times.
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    (finding,) = _report(tmp_path)["findings"]
    assert finding["requirement"] == STATUS_KNOWN and finding["count"] == len(UNKNOWN)
    assert _report(tmp_path)["audit"]["samples"][finding["id"]] == sorted(UNKNOWN)
    # The summary a person reads shows them too: how many jobs, and which.
    for name in ("conformance.md", "conformance.html"):
        text = (tmp_path / "r" / name).read_text()
        assert f"{len(UNKNOWN)}: " in text and all(job in text for job in UNKNOWN)


def test_a_malformed_listed_id_is_an_error_and_no_verdict(service: Service, tmp_path: Path) -> None:
    assert _audit(service.base_url, tmp_path, [*LISTED, "not-an-id"]) == 1  # findings first
    assert _audit(service.base_url, tmp_path, [*LISTED[5:], "not-an-id"]) == 2
    assert _report(tmp_path)["errors"] == ["not-an-id: not a job id of the documented pattern"]


def test_an_audit_that_finds_none_of_its_jobs_has_no_verdict_and_says_why(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _audit(service.root, tmp_path, LISTED) == 2
    error = capsys.readouterr().err
    assert f"none of the {len(LISTED)} declared jobs was found" in error
    assert "every one answered 404" in error
    assert f"{service.root}/api/v2/jobs/{{jobId}}" in error, "where the documented path puts it"
    assert "--job-ids-file" in error
    report = _report(tmp_path)
    assert report["verdict"] == "incomplete"
    assert report["findings"] == []
    # Resumed at its end, it says so again rather than failing on the record's findings.
    _cut_after_first_checkpoint(tmp_path)
    assert _audit(service.root, tmp_path, LISTED, "--resume") == 2


def test_what_an_audit_cannot_check_says_why(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = [i for i in HELD if i != THROTTLED][:3]
    assert _audit(service.base_url, tmp_path, held) == 0
    rows = {r["id"]: r for r in _report(tmp_path)["requirements"]}
    unchecked = [r for r in rows.values() if r["status"] == "not-checked"]
    assert unchecked and all(r["reason"] for r in unchecked)
    assert rows["http.idempotent"]["reason"] == "an audit reads each job once"
    assert "None" not in capsys.readouterr().out


def test_a_resume_against_another_target_is_refused(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The ids before the checkpoint were never asked of this target: going on would count
    # another target's answers as its own.
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    _cut_after_first_checkpoint(tmp_path)
    record = tmp_path / "r" / "audit.ndjson"
    before = record.read_bytes()
    capsys.readouterr()
    other = service.base_url.replace("127.0.0.1", "localhost")  # the same server, named apart
    assert _audit(other, tmp_path, LISTED, "--resume") == 4
    error = capsys.readouterr().err
    assert "was written for target" in error and "--base-url" in error
    assert record.read_bytes() == before


def test_a_record_holding_two_audits_is_refused_not_counted_twice(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What an older version left when an audit was run again without --resume: appended.
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    record = tmp_path / "r" / "audit.ndjson"
    once = record.read_text()
    record.write_text(once + once)
    assert _audit(service.base_url, tmp_path, LISTED, "--resume") == 4
    assert "a second audit begins here" in capsys.readouterr().err


def test_a_checkpoint_cut_before_its_newline_is_not_taken(service: Service, tmp_path: Path) -> None:
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    record = tmp_path / "r" / "audit.ndjson"
    lines = record.read_text().splitlines()
    kept = _cut_after_first_checkpoint(tmp_path)
    second = next(line for line in lines[len(kept) :] if '"checkpoint"' in line)
    # A full disk cut the second checkpoint's line: the first one is where to go on.
    record.write_text("\n".join([*kept, second]))
    assert _audit(service.base_url, tmp_path, LISTED, "--resume") == 1
    assert _report(tmp_path)["audit"]["resumed_after"] == ROUND


def test_jobs_not_judged_are_counted_past_the_first_fifty_listed(
    service: Service, tmp_path: Path
) -> None:
    # An outage makes an error of every id: the report lists fifty, the record has all.
    malformed = [f"not-a-uuid-{n}" for n in range(60)]
    assert _audit(service.base_url, tmp_path, [*malformed, *HELD[:2]]) == 2
    report = _report(tmp_path)
    assert len(report["errors"]) == 50
    assert any("10 more jobs could not be judged" in note for note in report["notes"])
    lines = [json.loads(line) for line in (tmp_path / "r" / "audit.ndjson").open()]
    assert sum("error" in line for line in lines) == 60


def test_sigterm_stops_an_audit_with_a_report_and_resume_goes_on(tmp_path: Path) -> None:
    # CI cancelling the job: what was judged is reported (no verdict), and --resume finishes.
    import signal
    import subprocess
    import sys
    import time

    held = [i for i in HELD if i != THROTTLED]
    server = ReferenceServer(latency_ms=40)  # about a second a round of 16
    server.store.put_many({**DOC_EXAMPLE, "id": i} for i in held)
    listed = tmp_path / "ids.txt"
    listed.write_text("\n".join(held) + "\n")
    record = tmp_path / "r" / "audit.ndjson"
    with server:
        command = [
            sys.executable, "-m", "jobs_conformance.cli", "audit", "--base-url", server.base_url,
            "--job-ids-file", str(listed), "--report-dir", str(tmp_path / "r"), "--workers", "1",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            record.is_file() and '"checkpoint"' in record.read_text()
        ):
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 2, err
        report = _report(tmp_path)
        assert report["verdict"] == "incomplete"
        assert any("stopped by SIGTERM" in e and "--resume" in e for e in report["errors"])
        assert b"Traceback" not in err
        assert _audit(server.base_url, tmp_path, held, "--resume") == 0
    resumed = _report(tmp_path)
    assert resumed["verdict"] == "pass" and resumed["audit"]["resumed_after"] >= ROUND
    assert resumed["audit"]["jobs"] == len(held)


def test_an_unfinished_audit_is_not_started_over_without_resume_or_restart(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    record = tmp_path / "r" / "audit.ndjson"
    kept = _cut_after_first_checkpoint(tmp_path)
    interrupted = record.read_bytes()
    capsys.readouterr()
    # The rerun that forgot --resume: the interrupted audit's progress is kept, and why said.
    assert _audit(service.base_url, tmp_path, LISTED) == 4
    error = capsys.readouterr().err
    assert "--resume goes on" in error and "--restart starts over" in error
    assert record.read_bytes() == interrupted
    with pytest.raises(SystemExit) as both:
        _audit(service.base_url, tmp_path, LISTED, "--resume", "--restart")
    assert both.value.code == 4
    assert record.read_bytes() == interrupted
    assert _audit(service.base_url, tmp_path, LISTED, "--restart") == 1
    restarted = record.read_text().splitlines()
    assert _report(tmp_path)["audit"]["resumed_after"] == 0
    assert restarted[: len(kept)] == kept and len(restarted) > len(kept)
    # A finished audit is run again afresh without --resume: one audit in the record.
    assert _audit(service.base_url, tmp_path, LISTED) == 1
    assert record.read_text().splitlines() == restarted
    assert json.loads(restarted[-1])["finished"] is True
    assert sum('"finished"' in line for line in restarted) == 1


def test_an_audit_of_no_ids_leaves_a_record_a_rerun_may_start_over(
    service: Service, tmp_path: Path
) -> None:
    # An empty list checks nothing (no verdict), and its record holds nothing to go on with.
    assert _audit(service.base_url, tmp_path, []) == 2
    assert (tmp_path / "r" / "audit.ndjson").read_bytes() == b""
    assert _audit(service.base_url, tmp_path, HELD[:3]) == 0


def test_a_spent_budget_stops_the_audit_at_its_checkpoint_and_resume_goes_on(
    service: Service, tmp_path: Path
) -> None:
    # --max-requests 20: the first round (16) is judged, and four of the second.
    assert _audit(service.base_url, tmp_path, LISTED, "--max-requests", "20") == 2
    report = _report(tmp_path)
    assert report["audit"]["jobs"] == 20
    assert any("budget" in e and "--resume" in e for e in report["errors"])
    assert _audit(service.base_url, tmp_path, LISTED, "--resume") == 1
    assert _report(tmp_path)["audit"]["jobs"] == len(LISTED)


def test_a_byte_order_mark_before_the_first_id_is_no_part_of_it(
    service: Service, tmp_path: Path
) -> None:
    listed = tmp_path / "ids.txt"
    listed.write_text("\ufeff" + "\r\n".join(HELD[:3]) + "\r\n", encoding="utf-8")
    code = cli(
        ["audit", "--base-url", service.base_url, "--job-ids-file", str(listed),
         "--report-dir", str(tmp_path / "r")]
    )  # fmt: skip
    assert code == 0 and _report(tmp_path)["errors"] == []


@pytest.mark.parametrize(
    ("given", "where"),
    [
        ("http://h:1/wrong?api_key=abc", "http://h:1/wrong/api/v2/jobs/{jobId}?api_key=[REDACTED]"),
        ("http://h:1", "http://h:1/api/v2/jobs/{jobId}"),
    ],
)
def test_where_the_documented_base_path_would_put_the_endpoint(given: str, where: str) -> None:
    from jobs_conformance.hints import base_path_hint

    # Not "base_url": pytest-base-url's fixture of that name would be asked for.
    assert base_path_hint(given, "https://worker.anon.com/api/v2").endswith(f" at {where}")


def test_ids_listed_in_upper_case_on_a_case_sensitive_target_are_its_case_finding(
    tmp_path: Path,
) -> None:
    held = [f"{n:07x}a-0000-4000-8000-00000000000b" for n in range(4)]  # hex letters in it
    server = ReferenceServer(faults=["case-sensitive-lookup"])
    server.store.put_many({**DOC_EXAMPLE, "id": i} for i in held)
    with server:
        # Three listed as SQL Server exports them, one as stored.
        listed = [i.upper() for i in held[:3]] + [held[3]]
        assert _audit(server.base_url, tmp_path, listed) == 1
    report = _report(tmp_path)
    (finding,) = report["findings"]
    assert finding["requirement"] == "http.case-insensitive" and finding["count"] == 3
    rows = {r["id"]: r for r in report["requirements"]}
    # Every job found, in one case or the other, and its body judged.
    assert rows[STATUS_KNOWN]["status"] == "pass" and rows[STATUS_KNOWN]["checked"] == 4
    assert rows["body.required"]["checked"] == 4


def test_a_job_the_target_still_cannot_answer_after_resume_is_its_error_and_the_audit_ends(
    service: Service, tmp_path: Path
) -> None:
    # One job answered 503 for good: stopping at it on every --resume would never end.
    listed = [i for i in HELD if i != THROTTLED]
    listed.insert(ROUND + 3, THROTTLED)
    TROUBLE["answer"] = "503"
    assert _audit(service.base_url, tmp_path, listed) == 2
    assert _report(tmp_path)["audit"]["jobs"] == ROUND + 3
    assert _audit(service.base_url, tmp_path, listed, "--resume") == 2
    report = _report(tmp_path)
    assert report["audit"]["jobs"] == len(listed)
    (error,) = report["errors"]
    assert error.startswith(f"{THROTTLED}: the service is unavailable") and "again" in error
    record = (tmp_path / "r" / "audit.ndjson").read_text().splitlines()
    assert json.loads(record[-1])["finished"] is True


def test_a_budget_spent_again_at_the_same_job_is_never_that_jobs_error(
    service: Service, tmp_path: Path
) -> None:
    # --max-requests 20 each time: each resume judges 20 more (44 ids: two stops), and none
    # becomes an error.
    runs = 0
    while _audit(service.base_url, tmp_path, LISTED, "--max-requests", "20",
                 *(["--resume"] if runs else [])) == 2:  # fmt: skip
        runs += 1
        assert _report(tmp_path)["errors"][0].startswith("stopped"), runs
        assert runs < 10
    report = _report(tmp_path)
    assert runs == 2 and report["audit"]["jobs"] == len(LISTED) and report["errors"] == []


def test_a_budget_spent_at_the_job_the_audit_stopped_at_stops_it_again(tmp_path: Path) -> None:
    # The lower-case retry of an upper-case id spends a budget of one at that very job, on
    # every --resume: a stop each time, never that job's error.
    held = "0000000a-0000-4000-8000-00000000000b"
    server = ReferenceServer(faults=["case-sensitive-lookup"])
    server.store.put_many([{**DOC_EXAMPLE, "id": held}])
    with server:
        for resume in ([], ["--resume"], ["--resume"]):
            code = _audit(server.base_url, tmp_path, [held.upper()], "--max-requests", "1", *resume)
            report = _report(tmp_path)
            assert code == 2 and report["errors"][0].startswith("stopped"), report["errors"]
            assert report["findings"] == []


def test_credentials_refused_stop_the_audit_at_one_job_until_they_are_renewed(
    service: Service, tmp_path: Path
) -> None:
    # Never one job's fault: every --resume while they are refused stops at the same job,
    # and none becomes an error line (each resume turned one more job into one).
    listed = [i for i in HELD if i != THROTTLED]
    TROUBLE.update(answer="401", who=set(HELD))
    for extra in ((), ("--resume",), ("--resume",)):
        assert _audit(service.base_url, tmp_path, listed, *extra) == 2
        report = _report(tmp_path)
        (error,) = report["errors"]
        stopped = f"stopped, the target cannot answer now ({listed[0]}: credentials refused (401)"
        assert error.startswith(stopped), error
        assert "again" not in error and report["audit"]["jobs"] == 0
    TROUBLE["answer"] = None
    assert _audit(service.base_url, tmp_path, listed, "--resume") == 0
    assert _report(tmp_path)["errors"] == []


def test_nothing_more_is_sent_once_the_target_cannot_answer(
    service: Service, tmp_path: Path
) -> None:
    # Four workers, rounds of 64 ids, the next one sent ahead: every request after the first
    # 503 (and its retries) was sent all the same, a round and more to an overloaded service.
    TROUBLE.update(answer="503", who=set(HELD))
    ASKED.clear()
    assert _audit(service.base_url, tmp_path, HELD * 4, "--workers", "4") == 2
    retries = 3  # the client's, each after Retry-After: 0
    assert len(ASKED) <= 4 * (1 + retries), len(ASKED)
    (error,) = _report(tmp_path)["errors"]
    assert "503" in error and "cancel" not in error.lower()


def test_a_target_that_redirects_to_another_origin_stops_the_audit_naming_it(
    tmp_path: Path,
) -> None:
    # --base-url with http:// where the service serves https (its edge redirects): no job's
    # finding (it was "a held job answered 301" for every job), a stop that says where to go.
    from hostile import HostileServer, respond

    def upgrade(seen: Any, connection: Any) -> None:
        respond(connection, 301, b"", {"Location": f"https://jobs.example{seen.path}"})

    with HostileServer(upgrade) as target:
        for extra in ((), ("--resume",)):
            assert _audit(target.base_url, tmp_path, HELD[:5], *extra) == 2
            report = _report(tmp_path)
            assert report["findings"] == [] and report["audit"]["jobs"] == 0
            (error,) = report["errors"]
            assert "redirects its jobs to https://jobs.example" in error
            assert "again" not in error  # never one job's: it stops there each time


def test_a_second_audit_of_one_report_folder_is_refused_while_the_first_runs(
    service: Service, tmp_path: Path
) -> None:
    import fcntl

    held = [i for i in HELD if i != THROTTLED]
    assert _audit(service.base_url, tmp_path, held) == 0
    record = tmp_path / "r" / "audit.ndjson"
    before = record.read_bytes()
    # Another audit running on the folder holds its lock (as this test process does here):
    # two writers interleaved the record's lines, and every --resume after refused it.
    with (tmp_path / "r" / ".audit.lock").open("ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for extra in (("--resume",), ("--restart",)):
            assert _audit(service.base_url, tmp_path, held, *extra) == 4
    assert record.read_bytes() == before
    # Let go (the other audit ended, however it ended): the folder is free again.
    assert _audit(service.base_url, tmp_path, held, "--restart") == 0


def test_a_line_far_longer_than_an_id_is_a_usage_error_naming_it(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A whole export on one line (a JSON array): not read whole into memory, nor echoed
    # megabytes long into every report as one malformed id.
    exported = json.dumps(HELD * 200)
    assert _audit(service.base_url, tmp_path, [exported]) == 4
    error = capsys.readouterr().err
    assert "ids.txt:1" in error and "one id a line" in error and len(error) < 1000
    # After two rounds of ids: refused before any request, not when the audit reached it
    # (its judging lost, as no round's checkpoint had been written).
    ASKED.clear()
    assert _audit(service.base_url, tmp_path, [*HELD[:30], exported, *HELD[30:]]) == 4
    assert "ids.txt:31" in capsys.readouterr().err and ASKED == []


def test_two_jobs_the_target_never_answers_in_one_round_do_not_stop_it_for_ever(
    service: Service, tmp_path: Path
) -> None:
    # Each --resume gets past one more of them: the audit ends, with both as errors.
    listed = [i for i in HELD if i != THROTTLED]
    bad = {listed[ROUND + 2], listed[ROUND + 5]}
    TROUBLE.update(answer="503", who=bad)
    codes = [_audit(service.base_url, tmp_path, listed)]
    while codes[-1] == 2 and _report(tmp_path)["audit"]["jobs"] < len(listed):
        codes.append(_audit(service.base_url, tmp_path, listed, "--resume"))
        assert len(codes) <= 4, codes
    report = _report(tmp_path)
    assert codes == [2, 2, 2] and report["audit"]["jobs"] == len(listed)
    assert {e.split(":")[0] for e in report["errors"]} == bad


def test_a_retry_in_lower_case_that_the_target_cannot_answer_stops_the_audit(
    tmp_path: Path,
) -> None:
    # The budget spent on the retry: no verdict, never a held job reported missing.
    held = "0000000a-0000-4000-8000-00000000000b"
    server = ReferenceServer(faults=["case-sensitive-lookup"])
    server.store.put_many([{**DOC_EXAMPLE, "id": held}])
    with server:
        assert _audit(server.base_url, tmp_path, [held.upper()], "--max-requests", "1") == 2
    report = _report(tmp_path)
    assert report["findings"] == [] and "budget" in report["errors"][0]


def test_a_budget_smaller_than_a_round_still_gets_through_the_list(
    service: Service, tmp_path: Path
) -> None:
    # --max-requests 5 against rounds of 16 (--workers 1): each --resume judges five more.
    codes = [_audit(service.base_url, tmp_path, LISTED, "--max-requests", "5")]
    while codes[-1] == 2:
        assert _report(tmp_path)["audit"]["jobs"] == 5 * len(codes)
        codes.append(_audit(service.base_url, tmp_path, LISTED, "--max-requests", "5", "--resume"))
        assert len(codes) <= len(LISTED) // 5 + 2
    assert len(codes) == -(-len(LISTED) // 5), "five more on each run"
    assert codes[-1] == 1 and _report(tmp_path)["audit"]["jobs"] == len(LISTED)


def test_a_bad_gate_file_is_a_usage_error_before_any_job_is_asked_for(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "waivers.toml"
    bad.write_text("[[waiver]\nthis is not TOML\n")
    assert _audit(service.base_url, tmp_path, LISTED, "--waivers", str(bad)) == 4
    assert "--waivers" in capsys.readouterr().err
    assert not (tmp_path / "r" / "audit.ndjson").exists()


def test_an_upper_case_id_refused_as_malformed_is_the_targets_case_finding(
    tmp_path: Path,
) -> None:
    # A service that validates ids as lower case only: 400 for the upper-case form.
    held = "0000000a-0000-4000-8000-00000000000b"
    server = ReferenceServer()
    server.store.put_many([{**DOC_EXAMPLE, "id": held}])
    app = server.app

    def lower_only(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").endswith(held.upper()):
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [b'{"error": "bad id"}']
        return app(environ, start_response)

    server.app = lower_only
    with server:
        assert _audit(server.base_url, tmp_path, [held.upper()]) == 1
    (finding,) = _report(tmp_path)["findings"]
    assert finding["requirement"] == "http.case-insensitive"


def test_a_resume_stopped_before_its_first_checkpoint_keeps_the_stops_it_read(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobs_conformance.audit as auditing
    from jobs_conformance.contract import load_contract

    listed = [i for i in HELD if i != THROTTLED]
    listed.insert(3, THROTTLED)
    TROUBLE["answer"] = "503"
    assert _audit(service.base_url, tmp_path, listed) == 2
    record = tmp_path / "r" / "audit.ndjson"
    assert set(auditing.read_record(record, load_contract()).stopped_at) == {THROTTLED}

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt
        yield  # a generator, as the one it stands for

    # Killed as it starts: nothing judged, and the stop is still where --resume reads it.
    monkeypatch.setattr(auditing, "_one_ahead", interrupted)
    assert _audit(service.base_url, tmp_path, listed, "--resume") == 2
    assert set(auditing.read_record(record, load_contract()).stopped_at) == {THROTTLED}
