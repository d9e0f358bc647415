"""audit: every listed job judged against a reference server, findings streamed, resumable,
sharded; at the scale of the issue (10,000 held jobs, 50 of them faulty).

One seeded reference serves the module, and counts every GET. The audits
over all the jobs run in subprocesses, as a user runs them (and so that
one can be killed); the small ones run in this process.
"""

from __future__ import annotations

import collections
import io
import json
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests_support import DOC_EXAMPLE, counts_of

from jobs_conformance import merge
from jobs_conformance.audit import (
    count_ids,
    merge_extra,
    progress_line,
    shows_progress,
)
from jobs_conformance.cli import main as cli
from jobs_conformance.contract import default_spec_dir
from jobs_conformance.invocation import command_line
from jobs_conformance.reference.server import ReferenceServer
from jobs_conformance.shards import Shard

JOBS, FAULTY = 10_000, 50
MALFORMED = "not-an-id"
# An offset where the documented pattern wants Z: every faulty job shows the same findings.
FAULTY_STAMP = "2024-02-29T00:00:00+00:00"
SCHEMA = json.loads((default_spec_dir() / "conformance.schema.json").read_text())
HALVES = (Shard(1, 2), Shard(2, 2))


@dataclass(frozen=True)
class Service:
    """The seeded reference; the ids it holds, in the order listed; the faulty ones; the id of
    every GET it answered, in order; the ids file (a comment, the ids, one malformed id)."""

    base_url: str
    ids: list[str]
    faulty: frozenset[str]
    asked: list[str]
    listed: Path

    @property
    def stream(self) -> list[str]:
        """The ids as an audit reads the file: what its checkpoints count."""
        return [*self.ids, MALFORMED]


@dataclass(frozen=True)
class Audited:
    """An audit's exit code, its report folder, and the ids it asked for."""

    code: int
    folder: Path
    asked: list[str]

    @property
    def records(self) -> list[dict[str, Any]]:
        return _records(self.folder / "audit.ndjson")

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.folder / "conformance.json").read_text())


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A reference holding JOBS more jobs, every (JOBS // FAULTY)th with an offset."""
    server = ReferenceServer()
    asked: list[str] = []  # appended by the server's threads: list.append holds the GIL
    app = server.app

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        asked.append(environ.get("PATH_INFO", "").rsplit("/", 1)[-1])
        return app(environ, start_response)

    server.app = counting
    ids = [str(uuid.UUID(int=n, version=4)) for n in range(1, JOBS + 1)]
    faulty = frozenset(ids[:: JOBS // FAULTY])
    server.store.put_many(
        {**DOC_EXAMPLE, "id": i, "createdAt": FAULTY_STAMP, "updatedAt": FAULTY_STAMP}
        if i in faulty
        else {**DOC_EXAMPLE, "id": i}
        for i in ids
    )
    listed = tmp_path_factory.mktemp("ids") / "ids.txt"
    listed.write_text("# every job we hold\n\n" + "\n".join(ids) + f"\n{MALFORMED}\n")
    with server:
        yield Service(server.base_url, ids, faulty, asked, listed)


@pytest.fixture(scope="module")
def whole(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Audited:
    """One process's audit of every listed id: what the other ways of running must equal."""
    return _audited(service, tmp_path_factory.mktemp("whole"), "--job-ids-file", service.listed)


def _audit(service: Service, folder: Path, *args: object, stdin: IO[bytes] | None = None) -> Any:
    """``jobs-conformance audit`` in a subprocess, as a user runs it: started, not awaited."""
    return subprocess.Popen(
        command_line(
            "audit", "--base-url", service.base_url, "--report-dir", str(folder), *map(str, args)
        ),
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _audited(service: Service, folder: Path, *args: object, stdin: Any = None) -> Audited:
    mark = len(service.asked)
    process = _audit(service, folder, *args, stdin=stdin)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode in (0, 1), stderr.decode()
    return Audited(process.returncode, folder, service.asked[mark:])


def _assert_last_checkpoint(
    records: list[dict[str, Any]], count: int, *, shard: str | None = None
) -> None:
    """The record ends with the checkpoint of a finished audit of ``count`` ids, whole."""
    last = records[-1]
    keys = {"checkpoint", "ids_sha256", "checked", "found", "not_found", "target", "spec_sha256"}
    assert set(last) == keys | {"finished"} | ({"shard"} if shard else set())
    assert last["checkpoint"] == count and last["finished"] is True
    assert last.get("shard") == shard


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _last_checkpoint(path: Path) -> int:
    """The last checkpoint of a record being written (its last line may be cut short)."""
    done = 0
    for line in path.read_bytes().splitlines() if path.is_file() else ():
        if line.startswith(b'{"checkpoint"') and line.endswith(b"}"):
            done = json.loads(line)["checkpoint"]
    return done


def _valid(report: dict[str, Any]) -> None:
    problem = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(report)
    )
    assert problem is None, f"{list(problem.absolute_path)}: {problem.message}"


def _undated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requirement rows without the Date of their examples' responses: the one thing two
    processes asking for the same job cannot get alike."""
    rows = json.loads(json.dumps(rows))
    for row in rows:
        for example in row["counterexamples"]:
            del example["response"]["headers"]["Date"]
    return rows


def _samples_and_counts(report: dict[str, Any]) -> tuple[dict[str, list[str]], set[int]]:
    """The audit's samples, and the counts of its findings."""
    assert report["findings"], "the faulty jobs were found"
    return report["audit"]["samples"], {f["count"] for f in report["findings"]}


# --- At scale: 10,000 jobs, 50 faulty.


def test_every_listed_job_is_asked_for_once_and_exactly_the_faulty_ones_are_reported(
    service: Service, whole: Audited
) -> None:
    assert whole.code == 1
    assert collections.Counter(whole.asked) == collections.Counter(service.ids)
    records = whole.records
    assert {r["job"] for r in records if "findings" in r} == service.faulty
    assert [r["job"] for r in records if "error" in r] == [MALFORMED]
    _assert_last_checkpoint(records, JOBS + 1)
    assert records[-1]["found"] == JOBS
    report = whole.report
    _valid(report)
    assert report["audit"]["jobs"] == report["known_jobs"] == JOBS + 1
    samples, counts = _samples_and_counts(report)
    assert counts == {FAULTY}
    assert samples == {f["id"]: sorted(service.faulty)[:5] for f in report["findings"]}
    assert report["partial"]["parts"] == [f"1/1|{service.listed}"]


def _settled(service: Service, quiet_s: float = 0.5) -> None:
    """Wait until the server has logged no request for ``quiet_s`` (fail after 30 s)."""
    seen, since = len(service.asked), time.monotonic()
    deadline = since + 30
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, "the server never went quiet"
        time.sleep(0.05)
        if len(service.asked) != seen:
            seen, since = len(service.asked), time.monotonic()


def test_an_audit_killed_half_way_resumes_judging_no_id_twice_and_missing_none(
    service: Service, whole: Audited, tmp_path: Path
) -> None:
    record = tmp_path / "audit.ndjson"
    mark = len(service.asked)
    with service.listed.open("rb") as ids:  # on standard input, as a pipeline gives them
        process = _audit(service, tmp_path, "--job-ids-file", "-", stdin=ids)
        deadline = time.monotonic() + 120
        while _last_checkpoint(record) < JOBS // 2:
            assert process.poll() is None, process.communicate()[1].decode()
            assert time.monotonic() < deadline, "no checkpoint half-way in 120 s"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    # The server may still be answering the round the killed audit had in flight: let it
    # finish, so none of those requests is counted as the resumed audit's.
    _settled(service)
    done = _last_checkpoint(record)
    assert JOBS // 2 <= done < JOBS, "killed half-way, not after the end"
    killed = service.asked[mark:]
    with service.listed.open("rb") as ids:
        resumed = _audited(service, tmp_path, "--job-ids-file", "-", "--resume", stdin=ids)
    assert resumed.code == 1
    before = set(service.stream[:done])
    assert before <= set(killed), "the killed audit asked for every id up to its checkpoint"
    assert not before & set(resumed.asked), "none of them is asked for again"
    assert collections.Counter(resumed.asked) == collections.Counter(service.ids[done:])
    records = resumed.records
    jobs = [r["job"] for r in records if "job" in r]
    assert len(jobs) == len(set(jobs)), "no job is recorded twice"
    assert {r["job"] for r in records if "findings" in r} == service.faulty
    _assert_last_checkpoint(records, JOBS + 1)
    report = resumed.report
    assert report["audit"]["resumed_after"] == done
    assert report["audit"]["jobs"] == JOBS + 1
    # The report counts every job, those before the checkpoint from the record: what one
    # process's report says, but for the examples (the record keeps none).
    assert counts_of(report) == counts_of(whole.report)
    assert report["audit"]["samples"] == whole.report["audit"]["samples"]
    earlier = len(service.faulty & before) * len(whole.report["findings"])  # each faulty job: each
    assert f"resumed after {done}: the {earlier} findings recorded before" in report["notes"][0]


def test_two_shards_ask_for_every_id_once_and_merge_to_the_report_of_one_process(
    service: Service, whole: Audited, tmp_path: Path
) -> None:
    parts = []
    for shard in HALVES:
        mine = [i for i in service.stream if shard.holds(i)]
        folder = tmp_path / f"shard{shard.index}"
        audited = _audited(service, folder, "--job-ids-file", service.listed, "--shard", shard)
        assert sorted(audited.asked) == sorted(i for i in mine if i != MALFORMED), str(shard)
        records = audited.records
        assert [r["job"] for r in records if "error" in r] == [i for i in mine if i == MALFORMED]
        _assert_last_checkpoint(records, len(mine), shard=str(shard))
        assert count_ids(str(service.listed), shard) == len(mine), "the progress bar's total"
        assert {r["job"] for r in records if "findings" in r} == service.faulty & set(mine)
        parts.append(audited.report)
    merged = merge.merge_records(parts)
    one = whole.report
    _valid(merged)
    for member in ("verdict", "findings", "errors", "known_jobs", "audit"):
        assert merged[member] == one[member], member
    assert _undated(merged["requirements"]) == _undated(one["requirements"])
    assert merged["partial"]["parts"] == one["partial"]["parts"]
    assert merged["requests_sent"] == one["requests_sent"] == JOBS
    assert merge.merge_records(parts[::-1])["findings"] == one["findings"]


# --- Small: in this process, a few hundred ids.


def _audit_here(service: Service, folder: Path, source: str, *extra: str) -> int:
    return cli(
        [
            "audit",
            "--base-url",
            service.base_url,
            "--job-ids-file",
            source,
            "--report-dir",
            str(folder),
            "--workers",
            "4",
            *extra,
        ]
    )


def test_samples_are_the_smallest_ids_whatever_the_order(service: Service, tmp_path: Path) -> None:
    some = [*sorted(service.faulty), *service.ids[1:150]]
    random.Random(7).shuffle(some)
    listed = tmp_path / "ids.txt"
    listed.write_text("\n".join(some) + "\n")
    assert _audit_here(service, tmp_path / "r", str(listed)) == 1
    report = json.loads((tmp_path / "r" / "conformance.json").read_text())
    samples, _ = _samples_and_counts(report)
    assert samples == {f["id"]: sorted(service.faulty)[:5] for f in report["findings"]}


def test_a_shard_resumes_from_its_own_checkpoints(service: Service, tmp_path: Path) -> None:
    shard = HALVES[0]
    listed = tmp_path / "ids.txt"
    listed.write_text("\n".join(service.ids[:600]) + "\n")
    mine = [i for i in service.ids[:600] if shard.holds(i)]
    assert _audit_here(service, tmp_path / "r", str(listed), "--shard", str(shard)) == 1
    record = tmp_path / "r" / "audit.ndjson"
    lines = record.read_text().splitlines()
    # Killed after the first checkpoint, half-way through writing the next round.
    first = next(n for n, line in enumerate(lines) if "checkpoint" in line)
    done = json.loads(lines[first])["checkpoint"]
    assert done == 4 * 16, "a round is --workers x 16 ids of this shard"
    record.write_text("\n".join(lines[: first + 1]) + "\n" + lines[first + 1][:10])
    # Another shard's checkpoints count another stream: refused, the record left alone.
    kept = record.read_bytes()
    assert _audit_here(service, tmp_path / "r", str(listed), "--shard", "2/2", "--resume") == 4
    assert record.read_bytes() == kept
    mark = len(service.asked)
    assert _audit_here(service, tmp_path / "r", str(listed), "--shard", "1/2", "--resume") == 1
    assert sorted(service.asked[mark:]) == sorted(mine[done:]), "only the rest, once each"
    records = _records(record)
    _assert_last_checkpoint(records, len(mine), shard="1/2")
    jobs = [r["job"] for r in records if "job" in r]
    assert sorted(jobs) == sorted(service.faulty & set(mine))


def test_ids_from_stdin(service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(service.ids[:20]) + "\n"))
    code = _audit_here(service, tmp_path / "r", "-")
    records = _records(tmp_path / "r" / "audit.ndjson")
    _assert_last_checkpoint(records, 20)
    assert code == (1 if service.faulty & set(service.ids[:20]) else 0)
    assert cli(["audit", "--job-ids-file", "-"]) == 4  # no --base-url
    with pytest.raises(SystemExit) as exited:
        cli(["audit", "--base-url", service.base_url, "--job-ids-file", "-", "--shard", "3/2"])
    assert exited.value.code == 4


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("source", "ci", "shown"),
    [
        pytest.param("file", None, "30/30 jobs, ", id="a file on a terminal: a total and an ETA"),
        pytest.param("-", None, "30 jobs, ", id="stdin on a terminal: no total"),
        pytest.param("file", "true", None, id="in CI: nothing"),
    ],
)
def test_the_progress_line_is_drawn_on_a_terminal_outside_ci(
    service: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    ci: str | None,
    shown: str | None,
) -> None:
    listed = tmp_path / "ids.txt"
    listed.write_text("# thirty\n" + "\n".join(service.ids[:30]) + "\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(listed.read_text()))
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.delenv("CI", raising=False)
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    _audit_here(service, tmp_path / "r", str(listed) if source == "file" else source)
    drawn = sys.stderr.getvalue()
    if shown is None:
        assert drawn == ""
        return
    last = drawn.rstrip("\n").rsplit("\r", 1)[-1].rstrip()
    assert last.startswith(shown)
    assert ("ETA 00:00" in last) == (source == "file")


@pytest.mark.parametrize(
    ("judged", "total", "elapsed", "resumed_after", "line"),
    [
        pytest.param(500, 1000, 1.0, 0, "500/1000 jobs, 500/s, ETA 00:01", id="half-way"),
        pytest.param(1, 1000, 1.0, 0, "1/1000 jobs, 1/s, ETA 16:39", id="minutes and seconds"),
        pytest.param(1, 100_000, 1.0, 0, "1/100000 jobs, 1/s, ETA 1666:39", id="past an hour"),
        pytest.param(10, 11, 3.0, 0, "10/11 jobs, 3/s, ETA 00:01", id="a part second: up"),
        pytest.param(1000, 1000, 2.0, 0, "1000/1000 jobs, 500/s, ETA 00:00", id="done"),
        pytest.param(0, 1000, 0.0, 0, "0/1000 jobs, 0/s, ETA --:--", id="zero elapsed"),
        pytest.param(0, 1000, 5.0, 0, "0/1000 jobs, 0/s, ETA --:--", id="nothing judged yet"),
        pytest.param(
            6000, 10_000, 2.0, 5000, "6000/10000 jobs, 500/s, ETA 00:08", id="resumed: own rate"
        ),
        pytest.param(5000, 10_000, 0.0, 5000, "5000/10000 jobs, 0/s, ETA --:--", id="resuming"),
        pytest.param(1234, None, 2.0, 0, "1234 jobs, 617/s", id="stdin: no total, no ETA"),
        pytest.param(0, None, 0.0, 0, "0 jobs, 0/s", id="stdin, zero elapsed"),
    ],
)
def test_progress_line(
    judged: int, total: int | None, elapsed: float, resumed_after: int, line: str
) -> None:
    assert progress_line(judged, total, elapsed, resumed_after) == line


@pytest.mark.parametrize(
    ("tty", "environ", "shown"),
    [
        (True, {}, True),
        (True, {"CI": "true"}, False),
        (True, {"CI": "1"}, False),
        (True, {"CI": ""}, True),  # set but empty, as a shell's `CI=` leaves it: not CI
        (False, {}, False),
    ],
)
def test_progress_is_shown_on_a_terminal_outside_ci(
    tty: bool, environ: dict[str, str], shown: bool
) -> None:
    stream = _Terminal() if tty else io.StringIO()
    assert shows_progress(stream, environ) is shown


def test_count_ids_counts_what_the_audit_reads(tmp_path: Path) -> None:
    listed = tmp_path / "ids.txt"
    listed.write_text("# head\n\n  a\nb  \n   \n#c\nc\n\nnot # a comment\n")
    assert count_ids(str(listed)) == 4
    assert sum(count_ids(str(listed), shard) or 0 for shard in HALVES) == 4
    assert count_ids("-") is None, "stdin is read once"
    assert count_ids(str(tmp_path)) is None, "not a regular file"
    assert count_ids(str(tmp_path / "absent")) is None, "the audit's own read says why"


_IDS = st.text("0123456789abcdef", min_size=1, max_size=3)
_FINDINGS = st.sampled_from(["body.datetime-rfc3339#00000001", "http.id-echo#00000002"])
_EXTRAS = st.fixed_dictionaries(
    {
        "jobs": st.integers(0, 10**6),
        "resumed_after": st.integers(0, 10**6),
        "samples": st.dictionaries(
            _FINDINGS,
            st.lists(_IDS, max_size=5, unique=True).map(sorted),
        ),
        "records": st.lists(st.sampled_from(["a/audit.ndjson", "b/audit.ndjson"]), unique=True).map(
            sorted
        ),
    }
)


@given(_EXTRAS, _EXTRAS, _EXTRAS)
def test_merge_extra_is_commutative_and_associative(
    a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]
) -> None:
    assert merge_extra(a, b) == merge_extra(b, a)
    assert merge_extra(merge_extra(a, b), c) == merge_extra(a, merge_extra(b, c))
    merged = merge_extra(merge_extra(a, b), c)
    assert merged["jobs"] == a["jobs"] + b["jobs"] + c["jobs"]
    for finding, kept in merged["samples"].items():
        every = {i for part in (a, b, c) for i in part["samples"].get(finding, ())}
        assert kept == sorted(every)[:5]
