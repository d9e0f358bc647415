"""Every held job judged: ``jobs-conformance audit --base-url URL --job-ids-file FILE|-``.

A gate judges the ids it is given and the requests it generates; an audit
reads every job the service holds, read-only, with the run's client (budget,
rate limit, Retry-After, caps, redaction). The ids are read as a stream and
sent a round (``--workers`` x 16) at a time, the next round in flight while
one is judged, so memory stays flat however many there are. Findings go to
``audit.ndjson`` as they are found, one line a job, and after each round a
checkpoint line says how many ids are done: with ``--resume`` an
interrupted audit goes on from the last checkpoint (what came after it is
judged again, and written once), judging no id twice and missing none. The
summary report groups the findings by class, with counts and the smallest
sample ids (the same whatever the order, the threads or the shards).

With ``--shard K/N`` a process judges only the ids of its shard (see
shards.py) and counts its checkpoints in them; the records of the N shards
merge (``report --merge``, merge.py) to the report of one process through
:func:`report_of` and :func:`merge_extra`.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime
import functools
import itertools
import json
import math
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from jobs_conformance.contract import load_contract
from jobs_conformance.errors import UsageError
from jobs_conformance.gate import COMMAND_OPTIONS, policy_of
from jobs_conformance.redact import Redactor
from jobs_conformance.settings import add_cli_options, resolve_cli
from jobs_conformance.shards import ALL, Shard, shard_argument

if TYPE_CHECKING:
    # Imported where used: they bring the oracle, which `jobs-conformance --help` has no use for.
    from jobs_conformance.merge import Meta
    from jobs_conformance.results import Results

__all__ = [
    "RECORD",
    "add_parser",
    "checkpoint_of",
    "count_ids",
    "merge_extra",
    "progress_line",
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
_REFRESH_S = 0.2  # a progress line a round would flicker at 1,000 jobs/s
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
            for line in stream:
                text = line.strip()
                if text and not text.startswith("#"):
                    yield text
        except UnicodeDecodeError as exc:
            raise UsageError("--job-ids-file", source, f"UTF-8 text ({exc.reason})") from None


def _shard_ids(source: str, shard: Shard) -> Iterator[str]:
    """The ids of ``source`` in ``shard``: the stream an audit judges and checkpoints count."""
    ids = _ids(source)
    return ids if shard == ALL else (i for i in ids if shard.holds(i))


def count_ids(source: str, shard: Shard = ALL) -> int | None:
    """How many ids of ``shard`` a regular file lists, in one streamed pass: the progress
    line's total. None for stdin and pipes (their ids can be read only once) and for a file
    that cannot be read (the audit's own read says why).

    The same reader as the audit's, so the total is exactly what it will judge.
    """
    if source == "-":
        return None
    try:
        if not stat.S_ISREG(os.stat(source).st_mode):
            return None
        return sum(1 for _ in _shard_ids(source, shard))
    except (OSError, UsageError):
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


def checkpoint_of(record: Path, shard: Shard = ALL) -> int:
    """How many ids (of ``shard``) a previous audit finished, cutting off what it wrote after its
    last checkpoint (a round it did not finish is judged again).

    A record of another shard is a usage error, and is left as it is: its
    count is of another stream of ids.
    """
    if not record.is_file():
        return 0
    done, keep, theirs = 0, 0, str(ALL)
    with record.open("rb") as stream:
        for line in stream:
            try:
                entry = json.loads(line)
            except ValueError:
                break  # a line cut short by the interruption
            if isinstance(entry, dict) and "checkpoint" in entry:
                done, keep = int(entry["checkpoint"]), stream.tell()
                theirs = str(entry.get("shard", ALL))
    if keep and theirs != str(shard):
        raise UsageError(
            "--shard", str(shard), f"{theirs}, the shard of the checkpoints in {record}"
        )
    with record.open("r+b") as stream:
        stream.truncate(keep)
    return done


def _checkpoint(judged: int, shard: Shard) -> dict[str, Any]:
    # A record of one process over every id reads as it always has.
    return {"checkpoint": judged} if shard == ALL else {"checkpoint": judged, "shard": str(shard)}


def _keep_smallest(kept: list[str], job_id: str) -> None:
    """Keep ``job_id`` among the _SAMPLES smallest ids seen: a sample that does not depend on
    the order the ids were judged in (threads, shards, a resumed run)."""
    if job_id in kept or (len(kept) >= _SAMPLES and job_id >= kept[-1]):
        return
    bisect.insort(kept, job_id)
    del kept[_SAMPLES:]


def _one_ahead(items: Iterable[_T], start: Callable[[_T], _R]) -> Iterator[_R]:
    """``start(item)`` for each item, one item ahead of the consumer: round k+1's requests are
    in flight while round k is judged (judging holds the GIL; waiting on the network does not)."""
    pending: list[_R] = []
    for item in items:
        pending.append(start(item))
        if len(pending) > 1:
            yield pending.pop(0)
    yield from pending


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
) -> dict[str, Any]:
    """The audit's ``conformance.json``: the command's and ``merge.merge_records``'s alike.

    ``extra`` is what the audit adds to ``results``: ``jobs`` (ids listed,
    resumed ones included), ``resumed_after`` (ids judged by an earlier
    process, whose findings are in the record but not in ``results``),
    ``samples`` (finding id -> its smallest job ids) and ``records`` (the
    audit.ndjson paths). ``redactor``: the command's, with the run's
    secrets; a merge's parts are redacted already.
    """
    from jobs_conformance.merge import record_of

    redactor = redactor or Redactor()
    jobs, resumed = int(extra["jobs"]), int(extra["resumed_after"])
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
            + (
                f", resumed after {resumed} (the counts here are of the {jobs - resumed} "
                "judged since)"
                if resumed
                else ""
            )
            + f"; findings job by job in {', '.join(extra['records'])}."
        ],
        redactor=redactor,
    )
    report["audit"] = redactor.data(
        {"jobs": jobs, "resumed_after": resumed, "samples": dict(extra["samples"])}
    )
    return report


def merge_extra(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """What two parts of an audit add, together: commutative and associative.

    Jobs and resumed ids add up (a merged report's counts are of ``jobs -
    resumed_after`` ids, as a resumed one's are); samples are the smallest
    ids of each finding's union; records are the union of the paths.
    """
    samples: dict[str, list[str]] = {}
    for finding in sorted(set(a["samples"]) | set(b["samples"])):
        union = set(a["samples"].get(finding, ())) | set(b["samples"].get(finding, ()))
        samples[finding] = sorted(union)[:_SAMPLES]
    return {
        "jobs": int(a["jobs"]) + int(b["jobs"]),
        "resumed_after": int(a["resumed_after"]) + int(b["resumed_after"]),
        "samples": samples,
        "records": sorted(set(a["records"]) | set(b["records"])),
    }


def run_audit(args: argparse.Namespace) -> int:
    """``jobs-conformance audit``: judge every listed job; the exit code of the verdict."""
    from jobs_conformance import merge
    from jobs_conformance.client import Client, ClientSettings
    from jobs_conformance.oracle import judge
    from jobs_conformance.render import render_console, write_command_reports
    from jobs_conformance.results import Results, finding_id

    settings = resolve_cli(args, _OPTIONS)
    if settings.base_url is None:
        raise UsageError("--base-url", "(not given)", "the service to audit")
    shard: Shard = getattr(args, "shard", ALL)
    contract = load_contract()
    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    record = report_dir / RECORD
    ids = _shard_ids(args.ids_file, shard)
    done = checkpoint_of(record, shard) if args.resume else 0
    progress = shows_progress(sys.stderr, os.environ)
    total = count_ids(args.ids_file, shard) if progress else None
    redactor = Redactor.for_settings(settings, settings.headers)
    client = Client(
        ClientSettings.of(settings, base_url=str(settings.base_url), headers=settings.headers),
        redactor,
    )
    pool = None
    if settings.workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="jobs-conformance-audit")
    send = functools.partial(_held, client)

    def sent(chunk: list[str]) -> tuple[list[str], list[str], Iterable[Any]]:
        # Only ids of the documented pattern are asked for; the rest are listed.
        valid = [i for i in chunk if contract.path_pattern.search(i)]
        if pool is None:
            return chunk, valid, map(send, valid)  # sent one by one as they are judged
        return chunk, valid, [pool.submit(send, i) for i in valid]

    results = Results(contract)
    samples: dict[str, list[str]] = {}  # finding id -> its smallest job ids
    started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
    judged, shown_at, width = done, clock, 0
    try:
        with record.open("a", encoding="utf-8") as out:
            rounds = _rounds(itertools.islice(ids, done, None), settings.workers * 16)
            for chunk, valid, answers in _one_ahead(rounds, sent):
                lines: list[dict[str, Any]] = [
                    {"job": i, "error": "not a job id of the documented pattern"}
                    for i in chunk
                    if not contract.path_pattern.search(i)
                ]
                exchanges = [a if pool is None else a.result() for a in answers]
                for job_id, exchange in zip(valid, exchanges, strict=True):
                    if isinstance(exchange, BaseException):
                        reason = str(getattr(exchange, "reason", exchange))
                        results.error(f"{job_id}: {reason}")
                        lines.append({"job": job_id, "error": reason})
                        continue
                    judgement = judge(exchange, contract)
                    results.observe(exchange, judgement, test="audit", once=True)
                    found = [
                        {
                            "id": finding_id(v.requirement, v.kind or v.message),
                            "requirement": v.requirement,
                            "class": v.kind or v.message,
                            "message": v.message,
                        }
                        for v in judgement.violations
                    ]
                    for finding in found:
                        _keep_smallest(samples.setdefault(finding["id"], []), job_id)
                    if found:
                        lines.append({"job": job_id, "findings": found})
                judged += len(chunk)
                out.write("".join(redactor.text(json.dumps(line)) + "\n" for line in lines))
                out.write(json.dumps(_checkpoint(judged, shard)) + "\n")
                out.flush()
                now = time.monotonic()
                if progress and now - shown_at >= _REFRESH_S:
                    width = _draw(progress_line(judged, total, now - clock, done), width)
                    shown_at = now
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        client.close()
        if progress:
            _draw(progress_line(judged, total, time.monotonic() - clock, done), width)
            sys.stderr.write("\n")
    extra = {
        "jobs": judged,
        "resumed_after": done,
        "samples": dict(sorted(samples.items())),
        "records": [str(record)],
    }
    meta = merge.Meta(
        target=redactor.text(str(settings.base_url)),
        started=started,
        duration_s=time.monotonic() - clock,
        requests_sent=client.requests_sent,
        strict=settings.strict,
        policy=policy_of(settings),
    )
    report = report_of(
        results, extra, meta, parts=merge.parts_of([args.ids_file], shard), redactor=redactor
    )
    code = write_command_reports(report, report_dir, case="audit::listed jobs", redactor=redactor)
    for line in render_console(report, report_dir=report_dir):
        print(line.text)
    return code


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
    from jobs_conformance.exchange import Exchange, Intent

    try:
        request, response = client.get_job(job_id)
    except Exception as exc:  # a transport failure, a budget spent: that job's error line
        return exc
    return Exchange(response, Intent.KNOWN, request, job_id)


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
    parser.add_argument(
        "--resume", action="store_true", help="go on after the last checkpoint of audit.ndjson"
    )
    parser.add_argument(
        "--shard",
        type=shard_argument,
        default=ALL,
        metavar="K/N",
        help="judge only the ids of shard K of N (by CRC-32 of the lower-case id); the records "
        "of all N merge with `report --merge`",
    )
    add_cli_options(parser, _OPTIONS)
    parser.set_defaults(handler=run_audit)
