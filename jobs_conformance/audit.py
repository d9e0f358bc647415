"""Every held job judged: ``jobs-conformance audit --base-url URL --job-ids-file FILE|-``.

A gate judges the ids it is given and the requests it generates; an audit
reads every job the service holds, read-only, with the run's client (budget,
rate limit, Retry-After, caps, redaction). The ids are read as a stream and
sent a round (``--workers`` x 16) at a time, the next round in flight while
one is judged, so memory stays flat however many there are. Findings go to
``audit.ndjson`` as they are found, one line a job, and after each round a
checkpoint line says how many ids are done, with a SHA-256 of those ids in
order: with ``--resume`` an interrupted audit goes on from the last
checkpoint (what came after it is judged again, and written once), judging
no id twice and missing none, and only over the list the checkpoint was
written for. What the record holds up to the checkpoint counts in the
resumed audit's verdict: a deployment gate must not go green because the
findings were found by an earlier process. The summary report groups the
findings by class, with counts and the smallest sample ids (the same
whatever the order, the threads or the shards).

With ``--shard K/N`` a process judges only the ids of its shard (see
shards.py) and counts its checkpoints in them; the records of the N shards
merge (``report --merge``, merge.py) to the report of one process through
:func:`report_of` and :func:`merge_extra`.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import contextlib
import datetime
import hashlib
import itertools
import json
import math
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from jobs_conformance.contract import load_contract
from jobs_conformance.errors import UsageError
from jobs_conformance.exchange import Exchange, Intent
from jobs_conformance.gate import COMMAND_OPTIONS, checked_policy, policy_of
from jobs_conformance.hints import NOT_FOUND
from jobs_conformance.redact import Redactor
from jobs_conformance.settings import add_cli_options, resolve_cli
from jobs_conformance.shards import ALL, Shard, shard_argument

if TYPE_CHECKING:
    # Imported where used: they bring the oracle, which `jobs-conformance --help` has no use for.
    from jobs_conformance.contract import Contract
    from jobs_conformance.merge import Meta
    from jobs_conformance.oracle import Judgement
    from jobs_conformance.results import Results
    from jobs_conformance.signals import StopSignals

__all__ = [
    "RECORD",
    "Earlier",
    "add_parser",
    "count_ids",
    "merge_extra",
    "progress_line",
    "read_record",
    "report_of",
    "run_audit",
    "shows_progress",
]

RECORD = "audit.ndjson"
# Options of `run` an audit takes: where the target is, how to reach it, how hard.
_OPTIONS = (
    "base-url",
    "header",
    "timeout",
    "max-requests",
    "rate-limit",
    "max-body-bytes",
    "workers",
    "proxy",
    "ca-bundle",
    "insecure",
    "client-cert",
    "client-key",
    # And what its findings mean for a gate, as for a run.
    *COMMAND_OPTIONS,
)
_SAMPLES = 5  # sample job ids kept per finding
_MAX_ERRORS = 50  # jobs not judged listed in the report; audit.ndjson has every one
# Why an audit cannot check a requirement: it reads each listed (held) job once, by its id.
_REASONS = {
    "http.malformed-4xx": "an audit asks only for the listed ids",
    "http.unknown-404": "an audit asks only for the listed ids, all meant to be held",
    "http.case-insensitive": "an audit reads each job in the case it is listed in, and in "
    "lower case only when not found so",
    "http.idempotent": "an audit reads each job once",
    "auth.required": "an audit sends only the configured credentials",
    "seed.round-trip": "an audit seeds nothing",
}
# Enough of the record's end to hold its last checkpoint (about a kilobyte).
_TAIL_BYTES = 64 * 1024
_REFRESH_S = 0.2  # a progress line a round would flicker at 1,000 jobs/s
_SHA256_HEX = frozenset("0123456789abcdef")
_T = TypeVar("_T")
_R = TypeVar("_R")


def _ids(source: str) -> Iterator[str]:
    """The ids of a file (``-``: stdin), one a line, blank lines and '#' comments left out.

    The file is opened here, not when the first id is read: an unreadable
    file is a usage error before anything is written.
    """
    if source == "-":
        return _id_lines(sys.stdin, source, contextlib.nullcontext())
    try:
        stream = open(source, encoding="utf-8")  # noqa: SIM115 - closed by _id_lines
    except OSError as exc:
        raise UsageError("--job-ids-file", source, f"a readable file ({exc.strerror})") from None
    return _id_lines(stream, source, stream)


def _id_lines(
    stream: IO[str], source: str, closing: contextlib.AbstractContextManager[Any]
) -> Iterator[str]:
    with closing:
        try:
            # A line at a time, up to a bound: a whole export on one line (a JSON array) is
            # not read into memory, and no id is echoed megabytes long into every report.
            for number in itertools.count(1):
                # Its line ending too ("\r\n" read as "\n" in text mode).
                line = stream.readline(_LONGEST_LINE + 2)
                if not line:
                    return
                if len(line.rstrip("\r\n")) > _LONGEST_LINE:
                    raise UsageError(
                        "--job-ids-file",
                        f"{source}:{number}",
                        f"one id a line, not a line of over {_LONGEST_LINE} characters (a "
                        "JSON array of ids? one a line: jq -r '.[]')",
                    )
                # A byte-order mark (Notepad's, PowerShell's) is no part of an id.
                text = line.strip().lstrip("\ufeff")
                if text and not text.startswith("#"):
                    yield text
        except UnicodeDecodeError as exc:
            raise UsageError("--job-ids-file", source, f"UTF-8 text ({exc.reason})") from None


# Far past any id (a UUID is 36 characters), and a bound on what one line holds in memory.
_LONGEST_LINE = 4096


def _shard_ids(source: str, shard: Shard) -> Iterator[str]:
    """The ids of ``source`` in ``shard``: the stream an audit judges and checkpoints count."""
    ids = _ids(source)
    return ids if shard == ALL else (i for i in ids if shard.holds(i))


def count_ids(source: str, shard: Shard = ALL) -> int | None:
    """How many ids of ``shard`` a regular file lists, in one streamed pass: the progress
    line's total, and a read of the whole list before any request, so a list the audit
    could not read to its end (not UTF-8, a line far longer than an id) is a UsageError
    now, not after hours of judging that its stop would not record. None for stdin and
    pipes (their ids can be read only once) and for a file that cannot be opened (the
    audit's own read says why).

    The same reader as the audit's, so the total is exactly what it will judge.
    """
    if source == "-":
        return None
    try:
        if not stat.S_ISREG(os.stat(source).st_mode):
            return None
        return sum(1 for _ in _shard_ids(source, shard))
    except OSError:
        return None  # the audit's own read says what is wrong


def progress_line(judged: int, total: int | None, elapsed: float, resumed_after: int = 0) -> str:
    """``judged/total jobs, rate/s, ETA mm:ss``; without a total (stdin), no ETA.

    ``judged`` counts the ids a resumed audit skipped (``resumed_after``),
    the rate only those this process judged; the ETA is ``--:--`` until
    there is a rate (nothing judged yet, no time elapsed).
    """
    rate = (judged - resumed_after) / elapsed if elapsed > 0 else 0.0
    if total is None:
        return f"{judged} jobs, {rate:.0f}/s"
    if rate > 0:
        minutes, seconds = divmod(math.ceil(max(total - judged, 0) / rate), 60)
        eta = f"{minutes:02d}:{seconds:02d}"
    else:
        eta = "--:--"
    return f"{judged}/{total} jobs, {rate:.0f}/s, ETA {eta}"


def shows_progress(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """A progress line on a terminal; none in CI (``CI`` set, as CI services set it), whose logs
    keep every carriage-return line, nor when stderr is a file or a pipe."""
    return not environ.get("CI") and stream.isatty()


@dataclass
class Earlier:
    """What an audit's record holds up to its last checkpoint: what ``--resume`` goes on from.

    The counts are over every id up to the checkpoint, whichever process
    judged it: ``findings`` (finding id -> requirement, class, message,
    severity, also_affects and how many jobs showed it) and ``failed``,
    ``affected`` and ``affected_by`` per requirement are read from the
    jobs' lines; ``checked`` (per requirement) and ``found`` and
    ``not_found`` (answers for a held job and answers that it is not
    there) from the checkpoint, None in one written before they were kept.
    """

    done: int = 0
    line: int = 0  # the checkpoint's line in the record; 0: none
    keep: int = 0  # bytes of the record up to the end of that line
    shard: str = str(ALL)
    ids_sha256: str | None = None
    # What the checkpoint's jobs were judged against: the target (redacted) and the
    # contract. None in a checkpoint written before they were kept.
    target: str | None = None
    spec_sha256: str | None = None
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    more_errors: int = 0  # past the first _MAX_ERRORS
    failed: collections.Counter[str] = field(default_factory=collections.Counter)
    affected: collections.Counter[str] = field(default_factory=collections.Counter)
    affected_by: dict[str, set[str]] = field(default_factory=dict)
    checked: dict[str, int] | None = None
    found: int | None = None
    not_found: int | None = None
    # The jobs the target could not answer for when the audit stopped since the last
    # checkpoint: asked again, and failing again, each is that job's error, not a stop.
    stopped_at: dict[str, str] = field(default_factory=dict)  # job id -> why

    @property
    def counted(self) -> dict[str, Any]:
        """The counts a report adds to its own (``extra["earlier"]``), as plain data."""
        return {
            "findings": {k: dict(v) for k, v in sorted(self.findings.items())},
            "failed": dict(sorted(self.failed.items())),
            "affected": dict(sorted(self.affected.items())),
            "affected_by": {k: sorted(v) for k, v in sorted(self.affected_by.items())},
            # A checkpoint older than the counts: of its jobs, only those that failed are known.
            "checked": dict(sorted((self.checked or (self.failed + self.affected)).items())),
        }


def read_record(record: Path, contract: Contract, shard: Shard = ALL) -> Earlier:
    """What ``record`` holds up to its last checkpoint; the record is not changed.

    A line cut short after the last checkpoint is the interruption's, and
    is judged again. Anything else that is not a line an audit writes (a
    checkpoint that is not a whole number of ids, a line that is not JSON,
    findings of no catalogue requirement) is a usage error naming the file
    and line: the record of a gate must not lose findings silently. A
    record of another shard is one too.
    """
    earlier = Earlier()
    if not record.exists():
        return earlier
    catalogue = frozenset(r.id for r in contract.requirements)
    pending: list[dict[str, Any]] = []  # the jobs' lines since the last checkpoint
    bad: int | None = None  # the first line since then that is not an audit's
    try:
        with record.open("rb") as stream:
            for number, raw in enumerate(stream, 1):
                # A line without its newline was cut while written: even a checkpoint.
                entry = _entry(raw, catalogue) if raw.endswith(b"\n") else None
                if entry is None:
                    bad = bad or number
                elif "stopped_at" in entry:
                    earlier.stopped_at[entry["stopped_at"]] = entry["why"]
                elif "checkpoint" not in entry:
                    pending.append(entry)
                elif bad is not None:
                    raise _bad_line(record, bad, "a line an audit writes (not JSON, or not one)")
                else:
                    _checkpointed(earlier, entry, record, number)
                    earlier.keep = stream.tell()
                    earlier.stopped_at.clear()
                    for job in pending:
                        _count_line(earlier, job, contract)
                    pending.clear()
    except OSError as exc:
        raise UsageError("--resume", str(record), f"a readable record ({exc.strerror})") from None
    if earlier.line and earlier.shard != str(shard):
        raise UsageError(
            "--shard", str(shard), f"{earlier.shard}, the shard of the checkpoints in {record}"
        )
    return earlier


def _refuse_unfinished(record: Path, report_dir: Path) -> None:
    """Refuse to start ``record`` over while it holds an audit that did not finish: a rerun
    that forgot ``--resume`` would throw away the progress of an interrupted audit."""
    try:
        with record.open("rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            stream.seek(max(0, size - _TAIL_BYTES))
            tail = stream.read()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(
            "--report-dir", str(report_dir), f"a folder whose {RECORD} can be read ({exc.strerror})"
        ) from None
    if not tail:
        return
    last = tail.rstrip(b"\n").rpartition(b"\n")[2]
    with contextlib.suppress(ValueError):
        entry = json.loads(last)
        if tail.endswith(b"\n") and isinstance(entry, dict) and entry.get("finished") is True:
            return
    raise UsageError(
        "--report-dir",
        str(report_dir),
        f"a folder whose {RECORD} holds no unfinished audit: it holds one that was stopped "
        "(or written by a version that did not mark an audit finished); --resume goes on "
        "with it, --restart starts over and discards it",
    )


def _bad_line(record: Path, number: int, expected: str) -> UsageError:
    return UsageError("--resume", f"{record}:{number}", expected)


def _entry(raw: bytes, catalogue: frozenset[str]) -> dict[str, Any] | None:
    """A line of the record as an audit writes it (a checkpoint is checked by the caller,
    which names its line), or None."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    if "checkpoint" in entry:
        return entry
    if set(entry) == {"stopped_at", "why"} and all(isinstance(v, str) for v in entry.values()):
        return entry
    if not isinstance(entry.get("job"), str):
        return None
    if set(entry) == {"job", "error"} and isinstance(entry["error"], str):
        return entry
    found = entry.get("findings")
    if set(entry) != {"job", "findings"} or not isinstance(found, list):
        return None
    for finding in found:
        if not (
            isinstance(finding, dict)
            and all(isinstance(finding.get(k), str) for k in ("id", "class", "message"))
            and finding.get("requirement") in catalogue
            and finding.get("severity", "must") in ("must", "should")
            and isinstance(finding.get("also_affects", []), list)
            and set(finding.get("also_affects", [])) <= catalogue
        ):
            return None
    return entry


def _checkpointed(earlier: Earlier, entry: dict[str, Any], record: Path, number: int) -> None:
    """Take the checkpoint ``entry`` (line ``number``) as the last one, or refuse it."""
    done = entry["checkpoint"]
    # A bool is an int to Python, and 1e23 or 1e400 a float: none is a count of ids.
    if type(done) is not int or done < 0:
        raise _bad_line(
            record, number, f"a checkpoint that is a whole number of ids, 0 or more, not {done!r}"
        )
    digest = entry.get("ids_sha256")
    if digest is not None and not (
        isinstance(digest, str) and len(digest) == 64 and set(digest) <= _SHA256_HEX
    ):
        raise _bad_line(record, number, f"ids_sha256 a SHA-256 in hex, not {digest!r}")
    checked = entry.get("checked")
    if checked is not None and not (
        isinstance(checked, dict) and all(_count(n) for n in checked.values())
    ):
        raise _bad_line(record, number, "checked: counts by requirement")
    for name in ("found", "not_found"):
        if name in entry and not _count(entry[name]):
            raise _bad_line(record, number, f"{name} a count, not {entry[name]!r}")
    if earlier.line and done <= earlier.done:
        # An older version appended an audit run without --resume to the record.
        raise _bad_line(
            record,
            number,
            f"the record of one audit (a checkpoint of {done} after one of {earlier.done}: a "
            "second audit begins here; to audit the list again, use --restart)",
        )
    earlier.done, earlier.line, earlier.ids_sha256 = done, number, digest
    earlier.target, earlier.spec_sha256 = entry.get("target"), entry.get("spec_sha256")
    earlier.shard = str(entry.get("shard", ALL))
    earlier.checked = dict(checked) if checked is not None else None
    earlier.found, earlier.not_found = entry.get("found"), entry.get("not_found")


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _count_line(earlier: Earlier, entry: dict[str, Any], contract: Contract) -> None:
    """Count a job's line before the checkpoint as :meth:`Results.observe` counted its
    exchange: a requirement failed (or affected) once a job, each finding once a job."""
    job_id = entry["job"]
    if "error" in entry:
        if len(earlier.errors) < _MAX_ERRORS:
            earlier.errors.append(f"{job_id}: {entry['error']}")
        else:
            earlier.more_errors += 1
        return
    by_id: dict[str, list[dict[str, Any]]] = {}
    for finding in entry["findings"]:
        by_id.setdefault(finding["id"], []).append(finding)
    owners: dict[str, set[str]] = {}
    for finding_id, found in by_id.items():
        first = found[0]
        # A record older than severities in it: the catalogue's.
        severities = {
            f.get("severity") or contract.requirement(f["requirement"]).severity for f in found
        }
        also = {r for f in found for r in f.get("also_affects", ())}
        known = earlier.findings.get(finding_id)
        if known is None:
            earlier.findings[finding_id] = {
                "requirement": first["requirement"],
                "class": first["class"],
                "message": first["message"],
                "severity": "must" if "must" in severities else "should",
                "also_affects": sorted(also),
                "count": 1,
            }
        else:
            known["count"] += 1
            known["also_affects"] = sorted(set(known["also_affects"]) | also)
            known["message"] = min(known["message"], first["message"])
            if "must" in severities:
                known["severity"] = "must"
        _keep_smallest(earlier.samples.setdefault(finding_id, []), job_id)
        for affected in also:
            owners.setdefault(affected, set()).add(first["requirement"])
    earlier.failed.update({f["requirement"] for f in entry["findings"]})
    for affected, by in owners.items():
        earlier.affected[affected] += 1
        earlier.affected_by.setdefault(affected, set()).update(by)


def _skip_judged(ids: Iterator[str], earlier: Earlier, source: str, record: Path) -> Any:
    """Read past the ids the checkpoint counts, checking they are those it was written for;
    the running SHA-256 of the ids, to go on with."""
    digest = hashlib.sha256()
    read = 0
    for job_id in itertools.islice(ids, earlier.done):
        _hash_id(digest, job_id)
        read += 1
    where = f"the checkpoint at {record}:{earlier.line}"
    if read < earlier.done:
        raise UsageError(
            "--job-ids-file",
            source,
            f"the list {where} was written for: it lists {read} ids, the checkpoint counts "
            f"{earlier.done} judged",
        )
    if earlier.ids_sha256 is not None and digest.hexdigest() != earlier.ids_sha256:
        raise UsageError(
            "--job-ids-file",
            source,
            f"the list {where} was written for: its first {earlier.done} ids differ (to audit "
            "this list, use --restart or another --report-dir)",
        )
    return digest


def _hash_id(digest: Any, job_id: str) -> None:
    # One id a line, as listed: a running hash needs no memory however many ids there are.
    digest.update(job_id.encode("utf-8", "surrogatepass") + b"\n")


def _checkpoint(
    judged: int,
    shard: Shard,
    digest: Any,
    checked: Mapping[str, int],
    found: int,
    not_found: int,
    judged_by: Mapping[str, str],
) -> dict[str, Any]:
    entry: dict[str, Any] = {"checkpoint": judged, "ids_sha256": digest.hexdigest()}
    entry |= {"checked": dict(checked), "found": found, "not_found": not_found, **judged_by}
    # A record of one process over every id names no shard, as it always has.
    return entry if shard == ALL else {**entry, "shard": str(shard)}


def _keep_smallest(kept: list[str], job_id: str) -> None:
    """Keep ``job_id`` among the _SAMPLES smallest ids seen: a sample that does not depend on
    the order the ids were judged in (threads, shards, a resumed run)."""
    if job_id in kept or (len(kept) >= _SAMPLES and job_id >= kept[-1]):
        return
    bisect.insort(kept, job_id)
    del kept[_SAMPLES:]


def _one_ahead(items: Iterable[_T], start: Callable[[_T], _R]) -> Iterator[tuple[_R, bool]]:
    """``start(item)`` for each item, one item ahead of the consumer, and whether it is the
    last: round k+1's requests are in flight while round k is judged (judging holds the GIL;
    waiting on the network does not)."""
    pending: list[_R] = []
    for item in items:
        pending.append(start(item))
        if len(pending) > 1:
            yield pending.pop(0), False
    for started in pending:
        yield started, True


class _Senders:
    """``workers`` threads sending the requests of a round: each takes the round's next id, in
    list order (as a queue of one task an id would give them), until none is left.

    One task a thread, not one an id: a future, its lock and condition and a thread woken an
    id cost about a third of judging the job's answer (70,000 instructions a job, measured
    with callgrind).
    """

    def __init__(self, send: Callable[[str], Any], workers: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._send, self._workers, self._stopped = send, workers, False
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="jobs-conformance-audit")

    def start(self, ids: list[str]) -> Callable[[], list[Any]]:
        """Start sending the requests of ``ids``; what waits for their answers, in order."""
        pending = collections.deque(enumerate(ids))
        answers: list[Any] = [None] * len(ids)

        def drain() -> None:
            while not self._stopped:
                try:
                    index, job_id = pending.popleft()  # a deque's pops are atomic
                except IndexError:
                    return
                answers[index] = self._send(job_id)

        tasks = [self._pool.submit(drain) for _ in range(min(self._workers, len(ids)))]

        def wait() -> list[Any]:
            for task in tasks:
                task.result()
            return answers

        return wait

    def shutdown(self) -> None:
        """Start no request more; those in flight end as they will."""
        self._stopped = True
        self._pool.shutdown(wait=False, cancel_futures=True)


def _rounds(ids: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(itertools.islice(ids, size)):
        yield chunk


def report_of(
    results: Results,
    extra: Mapping[str, Any],
    meta: Meta,
    *,
    parts: list[str],
    redactor: Redactor | None = None,
    missing: Sequence[str] = (),
) -> dict[str, Any]:
    """The audit's ``conformance.json``: the command's and ``merge.merge_records``'s alike.

    ``extra`` is what the audit adds to ``results``: ``jobs`` (ids listed,
    resumed ones included), ``resumed_after`` (ids judged by an earlier
    process), ``earlier`` (what those showed, read from the record: see
    :class:`Earlier`; counted here with ``results``), ``samples`` (finding
    id -> its smallest job ids), ``records`` (the audit.ndjson paths) and
    ``notes``. ``redactor``: the command's, with the run's secrets; a
    merge's parts are redacted already. ``missing``: see
    :func:`jobs_conformance.merge.record_of`.
    """
    from jobs_conformance.merge import record_of

    redactor = redactor or Redactor()
    for result in results.rows():
        if result.status == "not-checked":
            result.reason = _REASONS.get(result.requirement.id, "no listed job's answer showed it")
    jobs, resumed = int(extra["jobs"]), int(extra["resumed_after"])
    earlier = extra.get("earlier") or {}
    before = sum(f["count"] for f in earlier.get("findings", {}).values())
    resumed_note = (
        f", resumed after {resumed}: the {before} findings recorded before the checkpoint "
        f"({len(earlier.get('findings', {}))} finding ids) are counted here, the examples shown "
        f"are of the {jobs - resumed} jobs judged since"
    )
    report = record_of(
        "audit",
        results,
        extra,
        meta,
        parts=parts,
        seed="audit",
        known_jobs=jobs,
        notes=[
            f"Audit of {jobs} listed jobs"
            + (resumed_note if resumed else "")
            + f"; findings job by job in {', '.join(extra['records'])}.",
            *extra.get("notes", ()),
        ],
        # Stopped before the end of the list: no verdict on it, though every finding stands.
        interrupted=bool(extra.get("stopped")),
        redactor=redactor,
        missing=missing,
    )
    if earlier:
        interrupted = bool(extra.get("stopped") or missing)
        _count_earlier(report, results, earlier, meta, interrupted=interrupted)
    report["audit"] = {"jobs": jobs, "resumed_after": resumed, "samples": dict(extra["samples"])}
    return redactor.data(report)


def _count_earlier(
    report: dict[str, Any],
    results: Results,
    earlier: Mapping[str, Any],
    meta: Meta,
    *,
    interrupted: bool,
) -> None:
    """Add what the jobs before the checkpoint showed to ``report``, built from ``results``
    alone: the counts of each requirement's row and of each finding, and the gate applied
    again, once, to every finding (waivers, strictness, baseline), with the verdict it gives.

    The record keeps no exchange, so a finding seen only before the
    checkpoint has no example: its ``request`` is empty and its row shows
    no example of it (``failing_classes`` counts it).
    """
    from jobs_conformance.contract import load_contract
    from jobs_conformance.gate import Gate
    from jobs_conformance.report import findings_of, verdict
    from jobs_conformance.results import row_status

    findings = {f["id"]: f for f in findings_of(results)}
    for finding_id, old in earlier["findings"].items():
        now = findings.get(finding_id)
        if now is None:
            findings[finding_id] = {
                "id": finding_id,
                **{k: old[k] for k in ("requirement", "class", "severity", "count", "message")},
                "status": "new",
                "also_affects": list(old["also_affects"]),
                "tests": ["audit"],
                "waiver": None,
                "reproduced": None,
                "probe": None,
                "request": {},
            }
        else:
            now["count"] += old["count"]
            now["also_affects"] = sorted(set(now["also_affects"]) | set(old["also_affects"]))
            if old["severity"] == "must":
                now["severity"] = "must"
    rows = report["requirements"]
    for row in rows:
        rid = row["id"]
        row["checked"] += earlier["checked"].get(rid, 0)
        row["failed"] += earlier["failed"].get(rid, 0)
        row["affected"] += earlier["affected"].get(rid, 0)
        row["also_affected_by"] = sorted(
            set(row["also_affected_by"]) | set(earlier["affected_by"].get(rid, ()))
        )
        row["failing_classes"] = sum(f["requirement"] == rid for f in findings.values())
    # As report.build_report gives every row its status, and the gate its findings.
    checked = set()
    for row in rows:
        row["status"] = row_status(
            checked=row["checked"], failed=row["failed"], affected=row["affected"]
        )
        if row["status"] != "not-checked":
            row["reason"] = None
            checked.add(row["id"])
    contract = load_contract()
    gate = (
        Gate.of_policy(meta.policy, catalogue=[r.id for r in contract.requirements])
        if meta.policy is not None
        else Gate(strict=meta.strict)
    )
    ordered = sorted(findings.values(), key=lambda f: (f["requirement"], -f["count"], f["class"]))
    outcome = gate.apply(ordered, checked=checked)
    for row in rows:
        row["status"] = outcome.shown_status(row["id"], row["status"])
    report["findings"] = outcome.findings
    # Every waiver stale or unverified now was one of those for this process's findings alone.
    listed = report["waivers"]["stale"] + report["waivers"]["unverified"]
    entries = {(w["key"], w["line"]): w for w in listed}
    report["waivers"]["stale"] = [entries[w.key, w.line] for w in outcome.stale]
    report["waivers"]["unverified"] = [entries[w.key, w.line] for w in outcome.unverified]
    if report["baseline"] is not None:
        report["baseline"] |= {
            "new": sum(f.get("since_baseline") == "new" for f in outcome.findings),
            "unchanged": sum(f.get("since_baseline") == "unchanged" for f in outcome.findings),
            "fixed": outcome.fixed,
            "unseen": outcome.unseen,
        }
    # As report.verdict_of decides, over every job judged.
    report["verdict"] = verdict(
        failing=outcome.failing,
        interrupted=interrupted,
        errors=bool(report["errors"]),
        unverified=outcome.unsettled,
        checked=bool(checked),
    )


def merge_extra(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """What two parts of an audit add, together: commutative and associative.

    Jobs and resumed ids add up, and so do the counts of what the resumed
    ids showed; samples are the smallest ids of each finding's union;
    records and notes are the unions of each.
    """
    samples: dict[str, list[str]] = {}
    for finding in sorted(set(a["samples"]) | set(b["samples"])):
        union = set(a["samples"].get(finding, ())) | set(b["samples"].get(finding, ()))
        samples[finding] = sorted(union)[:_SAMPLES]
    merged = {
        "jobs": int(a["jobs"]) + int(b["jobs"]),
        "resumed_after": int(a["resumed_after"]) + int(b["resumed_after"]),
        "samples": samples,
        "records": sorted(set(a["records"]) | set(b["records"])),
        "notes": sorted(set(a.get("notes", ())) | set(b.get("notes", ()))),
        "stopped": a.get("stopped", 0) + b.get("stopped", 0),
    }
    earlier = _merge_earlier(a.get("earlier") or {}, b.get("earlier") or {})
    return merged | ({"earlier": earlier} if earlier else {})


def _merge_earlier(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    if not a or not b:
        return dict(a or b)
    findings = {k: dict(v) for k, v in a["findings"].items()}
    for finding_id, theirs in b["findings"].items():
        mine = findings.get(finding_id)
        if mine is None:
            findings[finding_id] = dict(theirs)
            continue
        mine["count"] += theirs["count"]
        mine["also_affects"] = sorted(set(mine["also_affects"]) | set(theirs["also_affects"]))
        mine["message"] = min(mine["message"], theirs["message"])
        mine["severity"] = min(mine["severity"], theirs["severity"])  # "must" < "should"
    summed = {
        name: dict(sorted((collections.Counter(a[name]) + collections.Counter(b[name])).items()))
        for name in ("failed", "affected", "checked")
    }
    owners = {
        r: sorted(set(a["affected_by"].get(r, ())) | set(b["affected_by"].get(r, ())))
        for r in sorted(set(a["affected_by"]) | set(b["affected_by"]))
    }
    return {"findings": dict(sorted(findings.items())), **summed, "affected_by": owners}


def run_audit(args: argparse.Namespace) -> int:
    """``jobs-conformance audit``: judge every listed job; the exit code of the verdict.

    SIGTERM and SIGHUP (CI cancelling the job) stop it as Ctrl-C does: the
    report of what was judged is written, and ``--resume`` goes on."""
    from jobs_conformance.report import report_folder
    from jobs_conformance.signals import StopSignals

    folder = report_folder(Path(args.report_dir))
    with StopSignals().installed() as stops, _alone_in(folder):
        return _run_audit(args, stops, folder)


# Held by the audit writing a report folder's record, for as long as it runs.
_LOCK = ".audit.lock"


@contextlib.contextmanager
def _alone_in(folder: Path) -> Iterator[None]:
    """The report folder to this audit alone while it runs: two audits writing one record
    (a cron job overlapping the last run, a CI retry) interleave its lines, and every
    --resume after them refuses it. The lock is the system's (flock): a process that ends,
    however it ends, lets it go."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock to take
        yield
        return
    try:
        lock = (folder / _LOCK).open("ab")
    except OSError as exc:
        raise UsageError(
            "--report-dir", str(folder), f"a folder an audit can lock ({exc})"
        ) from exc
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                "--report-dir",
                str(folder),
                "a folder no other audit is writing (one is, now: wait for it, or give another)",
            ) from None
        yield


def _run_audit(args: argparse.Namespace, stops: StopSignals, report_dir: Path) -> int:
    from jobs_conformance import merge
    from jobs_conformance.client import Client, ClientSettings
    from jobs_conformance.oracle import judge, one_class_for_all_jobs
    from jobs_conformance.render import show_command_reports
    from jobs_conformance.results import Results, finding_id

    settings = resolve_cli(args, _OPTIONS)
    if settings.base_url is None:
        raise UsageError("--base-url", "(not given)", "the service to audit")
    policy = checked_policy(policy_of(settings), settings.sources)
    shard: Shard = getattr(args, "shard", ALL)
    contract = load_contract()
    record = report_dir / RECORD
    if record.exists() and not record.is_file():
        raise UsageError("--report-dir", str(report_dir), f"a folder where {RECORD} is a file")
    if not (args.resume or args.restart):
        _refuse_unfinished(record, report_dir)
    ids = _shard_ids(args.ids_file, shard)
    redactor = Redactor.for_settings(settings, settings.headers)
    earlier = read_record(record, contract, shard) if args.resume else Earlier()
    # A resumed audit goes on judging the same target by the same contract: the jobs before
    # the checkpoint were never asked of another target, nor judged by another catalogue.
    judged_by = {
        "target": redactor.text(str(settings.base_url)),
        "spec_sha256": contract.spec_sha256,
    }
    for name, option_name in (("target", "--base-url"), ("spec_sha256", "the suite's contract")):
        was = getattr(earlier, name)
        if was is not None and was != judged_by[name]:
            raise UsageError(
                "--resume",
                str(record),
                f"a record of this audit: its checkpoint at line {earlier.line} was written "
                f"for {name} {was!r}, not {judged_by[name]!r} ({option_name}); to audit again, "
                "use --restart (or another --report-dir)",
            )
    digest = _skip_judged(ids, earlier, args.ids_file, record)
    done = earlier.done
    notes = []
    if earlier.line and earlier.ids_sha256 is None:
        notes.append(
            f"The checkpoint at {record}:{earlier.line} was written by an older version, "
            f"without a hash of the ids: the first {done} ids of this list were not checked to "
            "be those it counts, and of those jobs only the examples that failed are counted."
        )
    progress = shows_progress(sys.stderr, os.environ)
    total = count_ids(args.ids_file, shard)  # and a bad list refused before any request
    client = Client(
        ClientSettings.of(settings, base_url=str(settings.base_url), headers=settings.headers),
        redactor,
    )

    def send(job_id: str) -> tuple[Any, list[Judgement], str | None, bool]:
        """The job's answer, its judgements, why the target cannot answer now (or None), and
        whether the audit stops there: decided once, here, as the answer came (the client's
        state and the stops remembered change as other answers come)."""
        answer = _held(client, job_id)
        why = _cannot_go_on(answer, client)
        stops_here = False
        if why is not None and _stops_at(job_id, answer, earlier):
            # The audit stops at this job (or at one before it): nothing more is sent, to a
            # target refusing the credentials or overloaded, and no Retry-After waited out.
            stops_here = True
            client.cancel(why)
        if isinstance(answer, BaseException):
            return answer, [], why, stops_here
        # Judged by the thread that read it, between its requests: judged by the main thread a
        # round at a time, the answers held the GIL for the round's length while the other
        # threads' answers waited for it (up to a switch interval, 5 ms, each).
        judgements = [one_class_for_all_jobs(judge(r, contract), r) for r in _reads(answer)]
        return answer, judgements, why, stops_here

    senders = _Senders(send, settings.workers) if settings.workers > 1 else None

    def sent(chunk: list[str]) -> tuple[list[str], Callable[[], list[Any]]]:
        # Only ids of the documented pattern are asked for; the rest are listed.
        valid = [i for i in chunk if contract.path_pattern.search(i)]
        if senders is None:
            # Sent one by one, the whole round, when its answers are asked for.
            return chunk, lambda: list(map(send, valid))
        return chunk, senders.start(valid)

    results, errors = Results(contract), _Errors()
    for error in earlier.errors:
        errors.add(results, error)
    errors.more += earlier.more_errors
    samples = {k: list(v) for k, v in earlier.samples.items()}  # finding id -> its smallest job ids
    # Answers for a held job and answers that it is not there, over every id judged; the
    # first of the latter, and one of each status, for what a wrong target answered.
    found, not_found = earlier.found or 0, earlier.not_found or 0
    missing: dict[int, Exchange] = {}
    missing_counts: collections.Counter[int] = collections.Counter()
    started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
    judged, shown_at, width = done, clock, 0
    stopped = None
    try:
        with record.open("r+b" if args.resume and record.exists() else "wb") as out:
            out.truncate(earlier.keep)  # a round the interrupted audit did not finish
            out.seek(earlier.keep)
            # The stops since the checkpoint stay until a new one: this run, stopped before
            # its first, must not forget them.
            out.write(_stop_lines(earlier.stopped_at))
            rounds = _rounds(ids, settings.workers * 16)
            for (chunk, answers), last in _one_ahead(rounds, sent):
                lines: list[dict[str, Any]] = []
                answered = iter(answers())
                stop: _TargetCannotAnswer | None = None
                taken = 0  # the round's ids judged, in order: what its checkpoint counts
                for job_id in chunk:
                    if not contract.path_pattern.search(job_id):
                        # Not asked for, so not judged, as a job whose request failed.
                        _hash_id(digest, job_id)
                        taken += 1
                        errors.job(results, lines, job_id, "not a job id of the documented pattern")
                        continue
                    exchange, judgements, why, stops_here = next(answered)
                    if stops_here:
                        # The jobs before it are checkpointed; --resume asks for it again.
                        stop = _TargetCannotAnswer(job_id, why)
                        break
                    _hash_id(digest, job_id)
                    taken += 1
                    if why is not None or isinstance(exchange, BaseException):
                        # The job the last stop was at, failing again: its own error (an audit
                        # that stopped at it on every --resume would never end).
                        reason = why or str(getattr(exchange, "reason", exchange))
                        errors.job(
                            results,
                            lines,
                            job_id,
                            reason + (" (again, after --resume)" if why else ""),
                        )
                        continue
                    # Found only in lower case: that read is the job's, judged as such.
                    pairs = list(zip(_reads(exchange), judgements, strict=True))
                    unjudged = next(filter(None, (_unjudged(r, j) for r, j in pairs)), None)
                    if unjudged is not None:
                        errors.job(results, lines, job_id, unjudged)
                        continue
                    for read, judgement in pairs:
                        results.observe(read, judgement, test="audit", once=True)
                    # Found in the target's own case (a variant's baseline): found.
                    status = (exchange.baseline or exchange).response.status
                    if status in NOT_FOUND:
                        not_found += 1
                        missing.setdefault(status, exchange)
                        missing_counts[status] += 1
                    else:
                        found += 1
                    found_here = [
                        {
                            "id": finding_id(v.requirement, v.kind or v.message),
                            "requirement": v.requirement,
                            "class": v.kind or v.message,
                            "message": v.message,
                            "severity": v.severity,
                            **({"also_affects": sorted(v.also_affects)} if v.also_affects else {}),
                        }
                        for judgement in judgements
                        for v in judgement.violations
                    ]
                    for finding in found_here:
                        _keep_smallest(samples.setdefault(finding["id"], []), job_id)
                    if found_here:
                        lines.append({"job": job_id, "findings": found_here})
                judged += taken
                if stop is not None and not taken:
                    raise stop  # nothing of the round judged: the last checkpoint stands
                checked = collections.Counter(earlier.checked or {})
                checked.update({r.requirement.id: r.checked for r in results.rows() if r.checked})
                checkpoint = _checkpoint(
                    judged, shard, digest, checked, found, not_found, judged_by
                )
                if last and stop is None:
                    # An audit run again without --resume may start this record over.
                    checkpoint["finished"] = True
                # The values redacted, not their JSON text: an escaped secret would not match,
                # and a redaction cutting through an escape would spoil the line.
                text = "".join(json.dumps(redactor.data(line)) + "\n" for line in lines)
                out.write((text + json.dumps(checkpoint) + "\n").encode("utf-8"))
                out.flush()
                # Past that round, an id listed again is asked for as any other.
                earlier.stopped_at.clear()
                if stop is not None:
                    raise stop
                now = time.monotonic()
                if progress and now - shown_at >= _REFRESH_S:
                    width = _draw(progress_line(judged, total, now - clock, done), width)
                    shown_at = now
    except KeyboardInterrupt as exc:
        stopped = f"{str(exc) or 'interrupted'} after {judged} jobs"
    except _TargetCannotAnswer as exc:
        stopped = (
            f"stopped, the target cannot answer now ({exc.job_id}: {exc.why}), after {judged} jobs"
        )
        # Past the checkpoint, beside the stops since it, where --resume reads them: a job
        # failing again is its error, so each --resume gets past one more, and none is
        # stopped at twice.
        with contextlib.suppress(OSError), record.open("ab") as out:
            out.write(_stop_lines({exc.job_id: redactor.text(exc.why)}))
    finally:
        # However it ends (a signal, a stop, the last job): no worker sends again, nor waits
        # out a Retry-After that would keep the process past a container's grace period.
        client.cancel("the audit ended")
        if senders is not None:
            senders.shutdown()
        client.close()
        if progress:
            _draw(progress_line(judged, total, time.monotonic() - clock, done), width)
            sys.stderr.write("\n")
    none_found = None
    if stopped is not None:
        # What came after the last checkpoint is not in the record: --resume judges it again.
        errors.add(results, f"{stopped}: --resume goes on from the last checkpoint in {record}")
    elif not found and not_found and (earlier.found is not None or not earlier.line):
        # None of the listed jobs was found: a wrong base URL or id list, not a verdict on
        # the service (as a run ends when none of its declared jobs is found).
        none_found = _none_found(
            missing, missing_counts, not_found, str(settings.base_url), contract, record
        )
        said, results = results.errors, Results(contract)
        for error in (none_found, *said):
            results.error(error)
        samples = {}
    if errors.more:
        notes.append(
            f"{errors.more} more jobs could not be judged than the {_MAX_ERRORS} listed under "
            f"errors (each has its error line in {record})."
        )
    extra = {
        "jobs": judged,
        "resumed_after": done,
        "samples": dict(sorted(samples.items())),
        "records": [str(record)],
        "notes": notes,
        "stopped": int(stopped is not None),  # parts stopped before their end
    }
    if earlier.line and none_found is None:
        extra["earlier"] = earlier.counted
    meta = merge.Meta(
        target=redactor.text(str(settings.base_url)),
        started=started,
        duration_s=time.monotonic() - clock,
        requests_sent=client.requests_sent,
        strict=settings.strict,
        policy=policy,
    )
    report = report_of(
        results, extra, meta, parts=merge.parts_of([args.ids_file], shard), redactor=redactor
    )
    with stops.finishing():
        code = show_command_reports(
            report, report_dir, case="audit::listed jobs", redactor=redactor
        )
    if none_found is not None:
        print(f"jobs-conformance audit: {redactor.text(none_found)}", file=sys.stderr)
    return code


@dataclass
class _Errors:
    """A job's error goes to the report's errors up to :data:`_MAX_ERRORS`; the rest are
    counted (an outage would make one of every id, and memory stays flat however many)."""

    more: int = 0

    def add(self, results: Results, message: str) -> None:
        if len(results.errors) < _MAX_ERRORS:
            results.error(message)
        else:
            self.more += 1

    def job(self, results: Results, lines: list[dict[str, Any]], job_id: str, reason: str) -> None:
        """A job not judged: its error, and its line in the record (which a resumed audit
        counts again as an error)."""
        self.add(results, f"{job_id}: {reason}")
        lines.append({"job": job_id, "error": reason})


class _TargetCannotAnswer(Exception):
    """The target cannot answer now (an outage, credentials refused, a rate limit, the
    budget spent): the audit stops at its last checkpoint, and ``--resume`` goes on."""

    def __init__(self, job_id: str, why: str) -> None:
        super().__init__(f"{job_id}: {why}")
        self.job_id, self.why = job_id, why


# Answers that say the service cannot answer anyone now, whichever job was asked for.
_CANNOT_ANSWER = {
    401: "credentials refused (401): renew them, then --resume",
    407: "the proxy refused its credentials (407)",
    429: "too many requests (429), after the client's Retry-After waits",
    502: "a gateway's upstream failed (502)",
    503: "the service is unavailable (503), after the client's Retry-After waits",
    504: "a gateway's upstream timed out (504)",
}


def _cannot_go_on(answer: Exchange | BaseException, client: Any) -> str | None:
    """Why the target cannot answer now, or None. A failure of one job's request alone (the
    next ones answered) is that job's error line instead: resuming would meet it again."""
    from jobs_conformance.client import TransportFailure

    if isinstance(answer, BaseException):
        if isinstance(answer, TransportFailure) and not client.failing:
            return None
        return str(getattr(answer, "reason", answer))
    moved = _moved(answer)
    if moved is not None:
        # --base-url's scheme or host is not the service's (http where it serves https):
        # a usage slip, no finding of any job's.
        return f"the target redirects its jobs to {moved}: audit them there (--base-url)"
    return _CANNOT_ANSWER.get(answer.response.status)


def _moved(answer: Exchange) -> str | None:
    """The origin ``answer`` redirects its job's URL to, unchanged but for it (hints.moved_to)."""
    from jobs_conformance.hints import moved_to

    request = answer.request
    return (
        None
        if request is None
        else moved_to(request.url, answer.response.status, answer.response.headers)
    )


def _stop_lines(stops: Mapping[str, str]) -> bytes:
    """The record's lines for jobs an audit stopped at (job id -> why), which ``--resume``
    reads back (:attr:`Earlier.stopped_at`)."""
    text = "".join(json.dumps({"stopped_at": job, "why": why}) + "\n" for job, why in stops.items())
    return text.encode("utf-8")


def _stops_at(job_id: str, answer: Exchange | BaseException, earlier: Earlier) -> bool:
    """Whether the audit stops at ``job_id``, whose answer says the target cannot answer now:
    always, but at the job the last stop was at, failing again in a way that may be its own
    (then it is that job's error line, and the audit goes on)."""
    return job_id not in earlier.stopped_at or not _may_be_the_jobs(answer)


# Refusals that are never one job's: credentials (the service's, a proxy's), a rate limit.
_NEVER_ONE_JOBS = frozenset({401, 407, 429})


def _may_be_the_jobs(answer: Exchange | BaseException) -> bool:
    """Whether a failure may be one job's own (its answer, its request's failure), not the
    audit's (a budget spent, a target never reached, credentials refused, a rate limit, the
    sending cancelled): met again at the job an audit stopped at, it is that job's error
    line; the audit's stops it again, however often, and --resume goes on once it is over."""
    from jobs_conformance.client import BudgetExhausted, Cancelled
    from jobs_conformance.errors import TargetUnreachable

    if isinstance(answer, BaseException):
        return not isinstance(answer, (BudgetExhausted, TargetUnreachable, Cancelled))
    return answer.response.status not in _NEVER_ONE_JOBS and _moved(answer) is None


def _reads(exchange: Exchange) -> list[Exchange]:
    """What a job's answer holds to judge: its read, and the read in lower case that found it."""
    return [exchange, *([exchange.baseline] if exchange.baseline else [])]


def _unjudged(exchange: Exchange, judgement: Any) -> str | None:
    """Why a job's answer could not be judged (its error line), or None."""
    from jobs_conformance.client import PEER_CUT

    truncated = exchange.response.truncated
    if truncated is not None and truncated.startswith(PEER_CUT):
        # The transport's failure, not the body's: no verdict on the job (run --confirm
        # would send it again; an audit reads each job once).
        return f"its answer was cut off ({truncated}): not judged"
    if judgement.crashes:
        failed = ", ".join(sorted(c.requirement for c in judgement.crashes))
        return f"the check of {failed} crashed: not judged"
    return None


def _none_found(
    missing: Mapping[int, Exchange],
    counts: Mapping[int, int],
    count: int,
    base_url: str,
    contract: Contract,
    record: Path,
) -> str:
    """What a run says when none of its declared jobs was found (hints.not_found_hint), of the
    answers of this process: ``missing`` holds the first of each status, ``counts`` how many
    there were; ``count`` counts those of earlier processes too."""
    from jobs_conformance.hints import base_path_hint, not_found_hint

    documented = str(contract.spec.get("servers", [{}])[0].get("url", ""))
    if not missing:  # every answer came before the checkpoint
        return (
            f"none of the {count} listed jobs asked for was found (every answer was "
            f"{', '.join(map(str, sorted(NOT_FOUND)))}; see {record}). Check that the ids "
            f"(--job-ids-file) are held by this target, and the base URL"
            + base_path_hint(base_url, documented)
            + "."
        )
    # The first answer of each status stands for the others, with how many there were: an
    # audit keeps no more, however many ids it read.
    return not_found_hint(
        list(missing.values()),
        count,
        base_url,
        documented,
        lambda o: "--job-ids-file" if o.name == "job-id" else o.cli_flag,
        statuses=counts,
    )


def _draw(line: str, width: int) -> int:
    """``line`` over the last one (padded to cover it); its width, for the next."""
    sys.stderr.write("\r" + line.ljust(width))
    sys.stderr.flush()
    return len(line)


def _held(client: Any, job_id: str) -> Any:
    """A held job's GET, as the run's known-job plan sends it; what went wrong in its place.

    Not through probes.py: it brings Hypothesis (its strategies), 0.5 s of
    start-up an audit has no use for.
    """
    try:
        request, response = client.get_job(job_id)
    except Exception as exc:  # a transport failure, a budget spent: that job's error line
        return exc
    listed = Exchange(response, Intent.KNOWN, request, job_id)
    canonical = job_id.lower()
    if response.status == 200 or response.status in _CANNOT_ANSWER or canonical == job_id:
        return listed
    # Refused as listed, in upper case (a list exported by SQL Server): asked again in
    # lower case, a case-sensitive target's refusal (404, 400, 500) is its
    # http.case-insensitive finding, as a run's case variant's is, not a held job missing.
    try:
        request, response = client.get_job(canonical)
    except Exception as exc:  # as for any request: an outage, a budget spent stop the audit
        return exc
    if response.status in _CANNOT_ANSWER:
        return Exchange(response, Intent.KNOWN, request, canonical)  # which stops it, too
    if response.status != 200:
        return listed
    found = Exchange(response, Intent.KNOWN, request, canonical)
    return Exchange(listed.response, Intent.CASE_VARIANT, listed.request, job_id, baseline=found)


def add_parser(subparsers: Any) -> None:
    """``jobs-conformance audit``."""
    parser = subparsers.add_parser(
        "audit",
        help="judge every listed held job of a service (read-only), resumable",
        description="GET every job of --job-ids-file ('-': stdin) and judge it as a run judges a "
        "held job. Findings stream to audit.ndjson in --report-dir; --resume goes on after the "
        "last checkpoint; --shard K/N splits the ids between processes. Exit 0 conforming, 1 violations, 2 no verdict, 4 usage error.",
    )
    parser.add_argument(
        "--job-ids-file",
        dest="ids_file",
        required=True,
        help="one held job id a line; '-' is stdin",
    )
    parser.add_argument("--report-dir", default="reports", help="where reports are written")
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="go on after the last checkpoint of audit.ndjson"
    )
    again.add_argument(
        "--restart",
        action="store_true",
        help="start over when audit.ndjson holds an audit that did not finish (discarding it)",
    )
    parser.add_argument(
        "--shard",
        type=shard_argument,
        default=ALL,
        metavar="K/N",
        help="judge only the ids of shard K of N (by CRC-32 of the lower-case id); the records "
        "of all N merge with `report --merge`",
    )
    add_cli_options(
        parser,
        _OPTIONS,
        helps={"base-url": "the service to audit (required): its base URL, as run's"},
    )
    parser.set_defaults(handler=run_audit)
