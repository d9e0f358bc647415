"""Every held job judged: ``jobs-conformance audit --base-url URL --job-ids-file FILE|-``.

A gate judges the ids it is given and the requests it generates; an audit
reads every job the service holds, read-only, with the run's client (budget,
rate limit, Retry-After, caps, redaction). The ids are read as a stream and
sent a round (``--workers``) at a time, so memory stays flat however many
there are. Findings go to ``audit.ndjson`` as they are found, one line a job,
and after each round a checkpoint line says how many ids are done: with
``--resume`` an interrupted audit goes on from the last checkpoint (what came
after it is judged again, and written once), judging no id twice and missing
none. The summary report groups the findings by class, with counts and
sample ids.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import itertools
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from jobs_conformance.contract import load_contract
from jobs_conformance.errors import UsageError
from jobs_conformance.settings import Option, option, resolve

__all__ = ["RECORD", "add_parser", "checkpoint_of", "run_audit"]

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
)
_SAMPLES = 5  # sample job ids kept per finding


def _ids(source: str) -> Iterator[str]:
    """The ids of a file (``-``: stdin), one a line, blank lines and '#' comments left out."""
    if source == "-":
        stream: IO[str] = sys.stdin
    else:
        try:
            stream = open(source, encoding="utf-8")  # noqa: SIM115 - read to the end
        except OSError as exc:
            raise UsageError(
                "--job-ids-file", source, f"a readable file ({exc.strerror})"
            ) from None
    for line in stream:
        text = line.strip()
        if text and not text.startswith("#"):
            yield text


def checkpoint_of(record: Path) -> int:
    """How many ids a previous audit finished, cutting off what it wrote after its last
    checkpoint (a round it did not finish is judged again)."""
    if not record.is_file():
        return 0
    done, keep = 0, 0
    with record.open("rb") as stream:
        for line in stream:
            try:
                entry = json.loads(line)
            except ValueError:
                break  # a line cut short by the interruption
            if isinstance(entry, dict) and "checkpoint" in entry:
                done, keep = int(entry["checkpoint"]), stream.tell()
    with record.open("r+b") as stream:
        stream.truncate(keep)
    return done


def run_audit(args: argparse.Namespace) -> int:
    """``jobs-conformance audit``: judge every listed job; the exit code of the verdict."""
    from jobs_conformance import __version__
    from jobs_conformance.client import Client, ClientSettings
    from jobs_conformance.oracle import judge
    from jobs_conformance.redact import Redactor
    from jobs_conformance.render import render_console, write_command_reports
    from jobs_conformance.report import build_report
    from jobs_conformance.results import Results, finding_id

    given = {option(n).dest: getattr(args, option(n).dest, None) for n in _OPTIONS}
    settings = resolve(given, environ=os.environ, spelling=_as_cli_spells)
    if settings.base_url is None:
        raise UsageError("--base-url", "(not given)", "the service to audit")
    contract = load_contract()
    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    record = report_dir / RECORD
    done = checkpoint_of(record) if args.resume else 0
    redactor = Redactor.for_settings(settings, settings.headers)
    client = Client(
        ClientSettings.of(settings, base_url=str(settings.base_url), headers=settings.headers),
        redactor,
    )
    pool = None
    if settings.workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="jobs-conformance-audit")
    results, samples = Results(contract), {}  # type: ignore[var-annotated]
    started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
    judged = done
    progress = sys.stderr.isatty()
    ids = itertools.islice(_ids(args.ids_file), done, None)
    try:
        with record.open("a", encoding="utf-8") as out:
            while chunk := list(itertools.islice(ids, settings.workers * 16)):
                # Only ids of the documented pattern are asked for; the rest are listed.
                lines: list[dict[str, Any]] = [
                    {"job": i, "error": "not a job id of the documented pattern"}
                    for i in chunk
                    if not contract.path_pattern.search(i)
                ]
                valid = [i for i in chunk if contract.path_pattern.search(i)]
                send = functools.partial(_held, client)
                answers = pool.map(send, valid) if pool is not None else map(send, valid)
                for job_id, exchange in zip(valid, list(answers), strict=True):
                    if isinstance(exchange, BaseException):
                        reason = str(getattr(exchange, "reason", exchange))
                        results.error(f"{job_id}: {reason}")
                        lines.append({"job": job_id, "error": reason})
                        continue
                    judgement = judge(exchange, contract)
                    results.observe(exchange, judgement, test="audit")
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
                        kept = samples.setdefault(finding["id"], [])
                        if len(kept) < _SAMPLES:
                            kept.append(job_id)
                    if found:
                        lines.append({"job": job_id, "findings": found})
                # Each round's exchanges are let go: memory stays flat.
                results.finish_test("audit")
                judged += len(chunk)
                out.write("".join(redactor.text(json.dumps(line)) + "\n" for line in lines))
                out.write(json.dumps({"checkpoint": judged}) + "\n")
                out.flush()
                if progress:
                    rate = (judged - done) / max(time.monotonic() - clock, 1e-6)
                    sys.stderr.write(f"\r{judged} jobs judged, {rate:.0f}/s ")
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        client.close()
        if progress:
            sys.stderr.write("\n")
    report = build_report(
        results,
        target=redactor.text(str(settings.base_url)),
        started=started,
        duration_s=time.monotonic() - clock,
        spec_sha256=contract.spec_sha256,
        seed="audit",
        strict=False,
        interrupted=False,
        requests_sent=client.requests_sent,
        known_jobs=judged,
        notes=[
            f"Audit of {judged} listed jobs"
            + (f", resumed after {done}" if done else "")
            + f"; findings job by job in {record}."
        ],
        suite_version=__version__,
        redactor=redactor,
    )
    report["audit"] = {"jobs": judged, "resumed_after": done, "samples": samples}
    code = write_command_reports(report, report_dir, case="audit::listed jobs", redactor=redactor)
    for line in render_console(report, report_dir=report_dir):
        print(line.text)
    return code


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


def _as_cli_spells(entry: Option) -> str:
    return entry.cli_flag


def add_parser(subparsers: Any) -> None:
    """``jobs-conformance audit``."""
    parser = subparsers.add_parser(
        "audit",
        help="judge every listed held job of a service (read-only), resumable",
        description="GET every job of --job-ids-file ('-': stdin) and judge it as a run judges a "
        "held job. Findings stream to audit.ndjson in --report-dir; --resume goes on after the "
        "last checkpoint. Exit 0 conforming, 1 violations, 2 no verdict, 4 usage error.",
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
    for name in _OPTIONS:
        entry = option(name)
        parser.add_argument(entry.cli_flag, **entry.arguments(entry.dest))
    parser.set_defaults(handler=run_audit)
