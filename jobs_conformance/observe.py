"""Recorded traffic judged: ``jobs-conformance observe FILE... | -``.

Exchanges of ``GET .../jobs/{jobId}`` recorded elsewhere (a HAR export from
a browser or a proxy; a schemathesis cassette, the VCR YAML that ``st run
--report vcr`` writes; NDJSON, one exchange a line, see
``spec/observed-exchange.schema.json``, or a JSON access log without bodies), read one at a time, gzip or not, and
judged by the same oracle as a run, for what traffic can show:

- a malformed id answered other than 4xx (``http.malformed-4xx``);
- a well-formed id answered other than 200, 404 or 410 (the traffic cannot
  tell a held job from an unknown one: ``http.unknown-404``);
- every 200: its Content-Type, its body, its id against the requested one;
- the same job read twice, with the same ``updatedAt``, answered with two
  bodies (``http.idempotent``); the same job in two cases with two outcomes
  (``http.case-insensitive``).

What the traffic never exercised is not-checked, never pass, and the record
says which requirements it could show and how often (observed coverage).
Exchanges of other endpoints and other methods, requests without an answer,
answers that say nothing of a well-formed id (a conditional request's
304, credentials refused, a rate limit), and answers sent before any route saw
the id (a 503 with Retry-After, a redirect to the same path at another origin)
are counted as skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import marshal
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote

from jobs_conformance.contract import Contract, load_contract
from jobs_conformance.errors import UsageError, error_order
from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent
from jobs_conformance.gate import COMMAND_OPTIONS, checked_policy, policy_of
from jobs_conformance.hints import moved_to
from jobs_conformance.merge import Meta, input_name, parts_of, record_of
from jobs_conformance.oracle import Judgement, Violation, judge, one_class_for_all_jobs
from jobs_conformance.recordings import FORMATS, Reading, Record, read_records
from jobs_conformance.redact import Redactor, may_hold_secrets, recorded_secrets, redact_url
from jobs_conformance.results import Results
from jobs_conformance.settings import add_cli_options, resolve_cli
from jobs_conformance.shards import ALL, Shard, shard_argument, url_path

__all__ = [
    "JobReads",
    "Observed",
    "add_parser",
    "exchanges_of",
    "merge_extra",
    "observe",
    "observe_record",
    "report_of",
]

# Read once: before Python 3.12 a member read through its class is slow (see oracle).
_MAYBE_HELD = Intent.MAYBE_HELD


@dataclass
class Observed:
    """What reading the traffic found besides verdicts: exchanges judged, records skipped."""

    exchanges: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # why -> how many

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


class JobReads:
    """Every read of a well-formed id, on disk, for what two reads of one job show.

    A repeat with the same ``updatedAt`` and another body, or another case
    with another outcome, is seen only against the read of the same job
    before it, which may be any number of records back. Held in memory, the
    reads grow with the number of distinct jobs (a gigabyte of traffic holds
    millions); looked up on disk as they come, each read costs a random
    probe into an index larger than any cache. So reads are only appended
    to a throwaway SQLite file while the traffic streams (a batch at a
    time: sequential writes), and the jobs read more than once are found at
    the end, by one sort of the keys (an index built in one pass); only
    their reads are read back, in order, each compared with the one before
    (cases) and with the last of the same form (repeats).
    Findings do not depend on when they are judged: the record is a sum
    over exchanges.
    """

    BATCH = 512

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, bytes]] = []  # rows to write: key, read
        self._tags: dict[str, int] = {}  # the names of the inputs read, by number
        self.noted = 0  # reads of well-formed ids
        # Why the reads could not all be compared (the scratch file could not be
        # written: a full disk, an unwritable TMPDIR), and how many were not.
        self.refused: str | None = None
        self.uncompared = 0

    def __enter__(self) -> JobReads:
        return self

    def __exit__(self, *exc: object) -> None:
        self._drop()

    def _drop(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _refuse(self, exc: BaseException) -> None:
        """Give up the comparisons: what the scratch file holds after a failed write is not
        known (no journal to roll back), so every read noted is uncompared, and every one
        to come; the disk it took is freed for the reports."""
        reason = getattr(exc, "strerror", None) or str(exc)
        self.refused = (
            f"the reads of well-formed ids could not be kept for comparison in a scratch file "
            f"under {tempfile.gettempdir()} ({reason}; TMPDIR names another place): two reads "
            "of one job were not all compared"
        )
        self._pending = []
        self._drop()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._folder = tempfile.TemporaryDirectory(
                prefix="jobs-conformance-observe-", ignore_cleanup_errors=True
            )
            db = sqlite3.connect(os.path.join(self._folder.name, "reads.sqlite3"))
            self._db = db
            # A scratch file: nothing to recover after a crash, so no journal; written
            # in order, so in large pages (a fifth less time a read than 4 KiB pages).
            # A read is one marshalled row beside its key: writing it so takes three
            # fifths of the time nine columns take (measured).
            db.executescript(
                "PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                "PRAGMA cache_size=-8192; PRAGMA temp_store=FILE;"
                "CREATE TABLE reads (key TEXT, read BLOB);"
            )
        return self._db

    def add(self, exchange: Exchange, test: str, *, faulty: bool = False) -> None:
        """Note ``exchange``, already judged (its body parsed), when it reads a job by a
        well-formed id; ``test`` is what :meth:`again` names its comparisons with, and
        ``faulty`` whether its own judgement found anything."""
        if exchange.intent is not _MAYBE_HELD:
            return
        self.noted += 1
        if self.refused is not None:
            return
        # Its row at once, not the exchange: a batch of exchanges held until written
        # would keep their parsed bodies alive for the garbage collector to walk.
        tag = self._tags.setdefault(test, len(self._tags))
        self._pending.append(
            (str(exchange.job_id).lower(), marshal.dumps(_Read.stored(exchange, tag, faulty)))
        )
        if len(self._pending) >= self.BATCH:
            self._write()

    def _write(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            try:
                self._connection().executemany("INSERT INTO reads VALUES (?, ?)", pending)
            except (sqlite3.Error, OSError) as exc:
                self._refuse(exc)

    def again(self) -> Iterator[tuple[str, Exchange, bool]]:
        """What the reads show against the read of their job before them: each read in another
        case than that one (compared with it), and each repeat of a form with the same
        ``updatedAt`` (the same body), with the ``test`` it was noted under, and whether the
        read a case comparison finds refused was a finding on its own. Once, after every read
        is noted.

        When the scratch file fails (now, or while the reads were noted), what
        was yielded stands and :attr:`refused` says why the rest was not."""
        self._write()
        if self._db is not None:
            try:
                yield from self._compared(self._db)
            except (sqlite3.Error, OSError) as exc:
                self._refuse(exc)
        if self.refused is not None:
            self.uncompared = self.noted  # which of them were compared is not known

    def _compared(self, db: sqlite3.Connection) -> Iterator[tuple[str, Exchange, bool]]:
        db.execute("CREATE INDEX reads_by_key ON reads (key)")
        rows = db.execute(
            "SELECT key, read FROM reads"
            " WHERE key IN (SELECT key FROM reads GROUP BY key HAVING count(*) > 1)"
            " ORDER BY key, rowid"
        )
        tags = list(self._tags)
        key: str | None = None
        previous: _Read | None = None
        # The last read of each form of the job's id (its cases, in the order met).
        by_form: dict[str, _Read] = {}
        refused: _Read | None = None
        # The forms of the job's id served so far: a form served before a refusal of it was
        # refused for another reason than its case.
        served: set[str] = set()
        # Each read as an exchange, built (its body parsed) once however often compared.
        built: dict[int, Exchange] = {}

        def exchange_of(read: _Read) -> Exchange:
            made = built.get(id(read))
            if made is None:
                made = built[id(read)] = read.exchange()
            return made

        for row_key, blob in rows:
            read = _Read(*marshal.loads(blob))
            if previous is None or row_key != key:  # a new job: its first read
                key, previous, by_form, refused = row_key, read, {read.job_id: read}, None
                served = {read.job_id} if read.status == 200 else set()
                built = {}
                continue
            before, previous = previous, read
            same = by_form.get(read.job_id)  # the last read of the same form
            if len(by_form) >= _MAX_FORMS:  # a hostile recording's endless cases
                by_form.clear()
                built = {id(r): e for r, e in ((before, exchange_of(before)),)}
            by_form[read.job_id] = read
            # Repeats: against the last read of the same form, with one updatedAt.
            repeat = (
                same is not None
                and read.status == same.status == 200
                and read.updated is not None
                and read.updated == same.updated
                and read.body is not None
                and same.body is not None
            )
            # Cases: each read against the one just before it, so a job deleted (or
            # changed) between two reads shows so in the reads between, not as a
            # disagreement of cases.
            cases = read.job_id != before.job_id
            missed: _Read | None = None  # the read of the two that was refused
            if cases and read.status != 200 and before.status == 200:
                missed = read
            elif cases and read.status == 200 and before.status != 200:
                missed = before
            # One refusal, served again after it, is the refusal already compared. The
            # refusal of a form served before it, as the job's latest read, may be the job
            # deleted since: no matter of case, unless a read after it serves the job in
            # another case (then it is compared, as the read before that one).
            refused_again = missed is before and before is refused
            changed_over_time = missed is read and read.job_id in served
            refused = read if missed is read and not changed_over_time else None
            if read.status == 200:
                served.add(read.job_id)
            if cases and not refused_again and not changed_over_time:
                # Another updatedAt, or a body that changed in the same form with one
                # updatedAt (http.idempotent's finding): only the statuses compare (a run's
                # repeats, its alternates, rule out what changed between reads).
                unstable = read.updated != before.updated or (repeat and read.body != same.body)
                shown = exchange_of(read)
                yield (
                    tags[read.tag],
                    dataclasses.replace(
                        shown,
                        intent=Intent.CASE_VARIANT,
                        baseline=exchange_of(before),
                        alternates=(shown,) if unstable else (),
                    ),
                    missed is not None and missed.faulty,
                )
            if repeat:
                # The same updatedAt, the same version: the same body (another one:
                # reading the job changed it, or two replicas disagree about it).
                repeated = dataclasses.replace(
                    exchange_of(read), intent=Intent.REPEAT, baseline=exchange_of(same)
                )
                yield tags[read.tag], repeated, False


# Forms of one job's id remembered for its repeats: its cases, which traffic has few of.
_MAX_FORMS = 64


def _updated(exchange: Exchange) -> str | None:
    """A read's ``updatedAt``, when its body was recorded and is a job that has one as text."""
    if not exchange.body_recorded:
        return None
    job = exchange.job
    updated = job.get("updatedAt") if isinstance(job, dict) else None
    return updated if isinstance(updated, str) else None


class _Read(NamedTuple):
    """A read noted by :class:`JobReads`: what compares it with another, and what
    rebuilds it as it was judged."""

    job_id: str
    status: int
    updated: str | None
    url: str
    sent: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...] | None  # None: not recorded
    body: bytes | None
    tag: int
    secrets: tuple[str, ...]
    faulty: bool  # its own judgement found something

    @staticmethod
    def stored(exchange: Exchange, tag: int, faulty: bool) -> tuple[Any, ...]:
        """What is stored of ``exchange``: the fields above, in their order, as a plain tuple
        (marshal takes no NamedTuple, and building one for every read costs about 2% of
        observe's instructions)."""
        request = exchange.request
        return (
            str(exchange.job_id),
            exchange.response.status,
            _updated(exchange),
            request.url if request else "",
            request.headers if request else (),
            exchange.response.headers if exchange.headers_recorded else None,
            exchange.response.body if exchange.body_recorded else None,
            tag,
            exchange.secrets,
            faulty,
        )

    def exchange(self) -> Exchange:
        return Exchange(
            HttpResponse(self.status, self.headers or (), self.body or b""),
            Intent.MAYBE_HELD,
            HttpRequest("GET", self.url, self.sent),
            self.job_id,
            body_recorded=self.body is not None,
            headers_recorded=self.headers is not None,
            secrets=self.secrets,
        )


def exchanges_of(
    records: Iterable[Record],
    observed: Observed,
    *,
    path_prefix: str = "",
    contract: Contract | None = None,
    redactor: Redactor | None = None,
) -> Iterator[tuple[str, Exchange]]:
    """Where each record is from and the exchange to judge, for the records of
    ``GET {path_prefix}/jobs/{jobId}``. A body without its request is judged as a captured 200
    body (``validate``'s input). Under ``--shard``, ``records`` are already the
    shard's (``read_records`` keeps only those, every read of a job in one shard)."""
    contract = contract or load_contract()
    redactor = redactor or Redactor()
    pattern = contract.path_pattern
    # The path a read must have, in the reason others are skipped for: a prefix that
    # already ends in /jobs shows itself so ("/api/v2/jobs/jobs/{jobId}").
    elsewhere = (
        f"another endpoint than {path_prefix.rstrip('/')}/jobs/{{jobId}}"
        if path_prefix
        else "another endpoint"
    )
    for record in records:
        if record.url is None:
            observed.exchanges += 1
            response = HttpResponse(200, record.headers or (), record.body or b"")
            yield record.source, Exchange(response, Intent.CAPTURED)
            continue
        if not record.url:
            observed.skip("no request recorded (a connection that sent none: nginx's 400, 408)")
            continue
        job_id = _job_id(record.url, path_prefix)
        if job_id is None:
            observed.skip(elsewhere)
            continue
        if record.method != "GET":
            observed.skip(f"method {record.method}")
            continue
        if not record.status:
            # A request that failed: a HAR's entry of status 0, a cassette's response: null.
            observed.skip("no answer recorded: status 0")
            continue
        if record.status == 499:
            # nginx logs 499 when the client went away before the answer: none was sent.
            observed.skip("no answer sent: 499, the client closed the connection (nginx)")
            continue
        not_the_endpoints = _not_the_endpoints(record, record.url)
        if not_the_endpoints is not None:
            observed.skip(f"answered {record.status}: {not_the_endpoints}")
            continue
        well_formed = bool(pattern.search(job_id))
        about_the_request = _about_the_request(record) if well_formed else None
        if about_the_request is not None:
            # Of a malformed id any answer but a 4xx says something (a 304: it was found).
            observed.skip(f"answered {record.status}: {about_the_request}")
            continue
        observed.exchanges += 1
        request = HttpRequest(
            "GET", redactor.text(record.url), redactor.headers(record.request_headers)
        )
        headers = record.headers
        response = HttpResponse(
            record.status,
            redactor.headers(headers) if headers else (),
            record.body or b"",
            record.truncated,
        )
        # A recorded well-formed id may or may not be held: 200, 404 and 410 are all
        # answers a conforming service gives it.
        intent = Intent.MAYBE_HELD if well_formed else Intent.MALFORMED
        exchange = Exchange(
            response,
            intent,
            request,
            job_id,
            # A prefix the recorder kept is no evidence of the body served: not judged.
            body_recorded=record.body is not None and record.truncated is None,
            headers_recorded=headers is not None,
            secrets=_secrets_of(record),
        )
        named = None if well_formed else _near_miss_of(job_id, exchange.job)
        if named is not None:
            exchange = dataclasses.replace(exchange, about=named)
        yield record.source, exchange


# Answers to something of the request other than the id it names: no evidence about
# the job or its id, whichever id was asked for. A run sends none of these headers and
# judges its credentials apart (auth.required, opted into); traffic carries them all.
_ANSWERS_THE_REQUEST = {
    304: "not modified, the answer to a conditional request (RFC 9110 section 15.4.5)",
    412: "a failed precondition of a conditional request (RFC 9110 section 15.5.13)",
    401: "the request's credentials, not its id (RFC 9110 section 15.5.2)",
    403: "the request's credentials, not its id (RFC 9110 section 15.5.4)",
    407: "the proxy's credentials, not the id (RFC 9110 section 15.5.8)",
    429: "too many requests, a rate limit (RFC 6585 section 4)",
}
# The headers that make a request conditional (RFC 9110 section 13.1): only such a request
# may be answered 304 or 412.
_CONDITIONS = frozenset(
    {"if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range"}
)


def _not_the_endpoints(record: Record, url: str) -> str | None:
    """Why ``record``'s answer to ``url``, for any id, is not the endpoint's answer about it,
    or None.

    A 503 with Retry-After asks to be asked later: the oracle judges no check
    of it (a run's client waits it out), and counted as judged it would stand
    as a refusal of its case beside a read that served the job. A redirect to
    the same path and query at another origin (http to https at the edge, or
    a browser's HSTS upgrade, which Chrome's HAR records as a 307 "Internal
    Redirect") is sent before any route sees the id: the endpoint answers the
    request it redirects to, recorded as one of its own.
    """
    status, headers = record.status, record.headers or ()
    if status == 503 and any(name.lower() == "retry-after" for name, _ in headers):
        return "unavailable for now, asked again after Retry-After (RFC 9110 section 15.6.4)"
    if moved_to(url, status, headers) is None:
        return None
    return "a redirect to the same path at another origin (http to https, HSTS), before any route"


def _about_the_request(record: Record) -> str | None:
    """Why ``record``'s answer says nothing of its (well-formed) id, or None. A 304 or 412
    to a request recorded without any condition is an answer about the id, and judged."""
    why = _ANSWERS_THE_REQUEST.get(record.status)
    if why is None or record.status not in (304, 412) or not record.request_headers:
        return why  # request headers not recorded (an access log): it may have been one
    conditional = any(name.lower() in _CONDITIONS for name, _ in record.request_headers)
    return why if conditional else None


def _secrets_of(record: Record) -> tuple[str, ...]:
    """The credentials ``record``'s request carried (:func:`recorded_secrets`); none asked for
    when nothing could hold one (no request header, nothing in the URL's places for one)."""
    url = record.url or ""
    if not record.request_headers and not may_hold_secrets(url):
        return ()
    return tuple(recorded_secrets(url, record.request_headers))


def _near_miss_of(job_id: str, job: Mapping[str, Any] | None) -> str | None:
    """The id of the job served, when the malformed ``job_id`` is one of its near misses.

    What a run's probes carry as ``about``: the id echo then compares values
    (the job the near miss names was served), and accepting the form at all
    is http.malformed-4xx's finding.
    """
    served = (job or {}).get("id")
    if not isinstance(served, str):
        return None
    from jobs_conformance.strategies.uuids import NEAR_MISS_KINDS, near_miss

    forms = {served, served.lower(), served.upper()}
    if any(near_miss(form, kind) == job_id for form in forms for kind in NEAR_MISS_KINDS):
        return served
    return None


def _job_id(url: str, path_prefix: str) -> str | None:
    path = url_path(url)
    if path_prefix:
        if not path.startswith(path_prefix.rstrip("/") + "/"):
            return None
        path = path[len(path_prefix.rstrip("/")) :]
    head, sep, segment = path.rpartition("/jobs/")
    # Under a prefix, the path is exactly {prefix}/jobs/{jobId}; without one, any
    # path that ends so. "/jobs/" alone is the collection (a list route with a
    # trailing slash), not a job read by an empty id.
    if not sep or not segment or "/" in segment or (path_prefix and head):
        return None
    return unquote(segment)


# --- The command.


_REASONS = {
    "http.malformed-4xx": "no malformed id was requested",
    "http.unknown-404": "no well-formed id was answered other than 200 (which may be a held job)",
    "http.case-insensitive": "no job was read in two cases",
    "http.idempotent": "no job was read twice with the same updatedAt",
    "http.status-known": "recorded traffic cannot tell a held job from an unknown one",
    "http.content-type": "no 200 was recorded with its response headers",
    "auth.required": "recorded traffic cannot show what a request without credentials gets",
    "seed.round-trip": "recorded traffic holds no seeding",
}


# What a read compared with the read of its job before it can show that it did not alone.
_TWO_READS = frozenset({"http.case-insensitive", "http.idempotent"})


def _what_two_reads_show(
    judgement: Judgement, exchange: Exchange, *, refusal_reported: bool
) -> Judgement:
    """A comparison's judgement, of the two-read requirements only: the read compared was
    judged, and counted, on its own (its body, its status, its id echo). A comparison's
    violation that another of the read's own owns was reported with it, and is not again;
    nor is a case's refusal that was a finding on its own (``refusal_reported``: an
    upper-case id answered 400 or 500 is one behaviour, found by the read that was
    refused)."""

    def new(violation: Violation) -> bool:
        if violation.requirement == "http.case-insensitive":
            return not refusal_reported
        return violation.requirement in _TWO_READS

    # Traffic reads thousands of jobs: one behaviour is one finding, not one a job.
    judgement = one_class_for_all_jobs(judgement, exchange)
    return dataclasses.replace(
        judgement,
        violations=tuple(v for v in judgement.violations if new(v)),
        crashes=tuple(c for c in judgement.crashes if c.requirement in _TWO_READS),
        applicable=judgement.applicable & _TWO_READS,
    )


def observe_record(
    names: Iterable[str],
    *,
    fmt: str = "auto",
    path_prefix: str = "",
    strict: bool = False,
    shard: Shard = ALL,
    policy: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of this shard of the recorded exchanges of ``names``, not written anywhere:
    what a process of a distributed observation returns (see ``report --merge``)."""
    import datetime
    import time

    contract = load_contract()
    started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
    observed, reading, results = Observed(), Reading(shard), Results(contract)
    # Named as a part names them: its tests, its target, its errors merge with other parts'.
    sources = [input_name(name) for name in names]
    tests = [f"observe::{name}" for name in sources]

    stopped = None
    with JobReads() as reads:
        try:
            # Each input's exchanges under its test, each noted for what two reads of one job
            # show; then those, under the input of the later read, once the last is noted.
            for name, test in zip(sources, tests, strict=True):
                records = read_records(name, fmt, reading)
                for _, exchange in exchanges_of(
                    records, observed, path_prefix=path_prefix, contract=contract
                ):
                    judgement = judge(exchange, contract)
                    results.observe(exchange, judgement, test=test, once=True)
                    reads.add(exchange, test, faulty=bool(judgement.violations))
            for test, compared, reported in reads.again():
                judgement = _what_two_reads_show(
                    judge(compared, contract), compared, refusal_reported=reported
                )
                results.observe(compared, judgement, test=test, once=True)
        except KeyboardInterrupt as exc:
            # Ctrl-C, or a stop signal the command turned into one: what was judged is
            # kept and reported, as a run's report keeps what it checked.
            stopped = f"{str(exc) or 'interrupted'} after {observed.exchanges} exchanges"
    for message in reading.messages:
        results.error(message)
    if reads.refused is not None:
        results.error(reads.refused)
    if stopped is not None:
        results.error(f"{stopped}: the rest of the traffic, and two reads of one job, not judged")
    extra = {
        "exchanges": observed.exchanges,
        "skipped": observed.skipped,
        "unreadable": reading.unreadable,
        "uncompared": reads.uncompared,
        "stopped": int(stopped is not None),  # parts stopped before their end
    }
    meta = Meta(
        target="recorded traffic: " + ", ".join(sources),
        started=started,
        duration_s=time.monotonic() - clock,
        strict=strict,
        policy=policy,
    )
    return report_of(results, extra, meta, parts=parts_of(sources, shard))


def observe(
    names: Iterable[str],
    *,
    fmt: str = "auto",
    path_prefix: str = "",
    strict: bool = False,
    report_dir: Path = Path("reports"),
    shard: Shard = ALL,
    policy: Mapping[str, Any] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Judge the recorded exchanges of ``names`` (this shard of them); the exit code and the
    record, written to ``report_dir`` with every other report."""
    from jobs_conformance.render import write_command_reports

    report = observe_record(
        names, fmt=fmt, path_prefix=path_prefix, strict=strict, shard=shard, policy=policy
    )
    code = write_command_reports(
        report, report_dir, case="observe::recorded traffic", redactor=Redactor()
    )
    return int(code), report


def merge_extra(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """Two parts' counts of what was read, added up."""
    skipped = dict(first["skipped"])
    for why, count in second["skipped"].items():
        skipped[why] = skipped.get(why, 0) + count
    return {
        "exchanges": first["exchanges"] + second["exchanges"],
        "skipped": skipped,
        "unreadable": first["unreadable"] + second["unreadable"],
        # A part written before these counts existed compared every read, and ended.
        "uncompared": first.get("uncompared", 0) + second.get("uncompared", 0),
        "stopped": first.get("stopped", 0) + second.get("stopped", 0),
    }


def report_of(
    results: Results,
    extra: Mapping[str, Any],
    meta: Meta,
    *,
    parts: list[str],
    missing: Sequence[str] = (),
) -> dict[str, Any]:
    """The record of an observation (one process's, or merged parts'): the run's report,
    the observed coverage, and the partial results a merge builds on. ``missing``: see
    :func:`jobs_conformance.merge.record_of`."""
    from jobs_conformance.recordings import MAX_UNREADABLE_SHOWN

    # The first in sorted order: what one process keeps, and what merged parts keep.
    results.errors.sort(key=error_order)
    del results.errors[MAX_UNREADABLE_SHOWN:]
    bodies = any(r.checked for r in results.rows() if r.requirement.id.startswith("body."))
    for result in results.rows():
        if result.status == "not-checked":
            result.reason = (
                "no 200 body was recorded in full"
                if result.requirement.id.startswith("body.") and not bodies
                else _REASONS.get(result.requirement.id, "the recorded traffic never showed it")
            )
    skipped = dict(sorted(extra["skipped"].items()))
    exchanges = int(extra["exchanges"])
    notes = [
        f"{exchanges} exchange{'' if exchanges == 1 else 's'} of GET /jobs/{{jobId}} judged; "
        + (", ".join(f"{n} skipped ({why})" for why, n in skipped.items()) or "none skipped")
    ]
    unreadable, uncompared = int(extra["unreadable"]), int(extra.get("uncompared", 0))
    if unreadable:
        notes.append(
            f"{unreadable} record{' was' if unreadable == 1 else 's were'} not readable "
            f"({'listed' if unreadable <= len(results.errors) else 'the first ones listed'} "
            "under errors): no verdict on the traffic, though every finding stands."
        )
    stopped = int(extra.get("stopped", 0))
    if stopped:
        notes.append(
            "stopped before the end of the traffic (see errors): no verdict on the traffic, "
            "though every finding stands."
        )
    if uncompared:
        notes.append(
            f"{uncompared} reads of well-formed ids were not all compared with the other reads "
            "of their job (see errors): http.idempotent and http.case-insensitive are "
            "incomplete, so no verdict on the traffic, though every finding stands."
        )
    report = record_of(
        "observe",
        results,
        extra,
        meta,
        parts=parts,
        seed="recorded",
        known_jobs=0,
        notes=notes,
        # What could not be read, or compared, may hold anything: no verdict, as validate says.
        interrupted=bool(unreadable or uncompared or stopped),
        missing=missing,
    )
    report["coverage"] = {
        "exchanges": extra["exchanges"],
        "skipped": skipped,
        "unreadable": unreadable,
        "uncompared": uncompared,
        "could_show": {r["id"]: r["checked"] for r in report["requirements"]},
        "never_exercised": [
            r["id"] for r in report["requirements"] if r["status"] == "not-checked"
        ],
    }
    return report


def add_parser(subparsers: Any) -> None:
    """``jobs-conformance observe``."""
    parser = subparsers.add_parser(
        "observe",
        help="judge recorded traffic of GET /jobs/{jobId} (HAR, NDJSON, VCR, access logs; gzip; "
        "'-' for stdin)",
        description="Judge recorded exchanges with the run's oracle; reports as run writes them. "
        "Exit 0 conforming, 1 violations, 2 no verdict (an input or record that could not be "
        "read, nothing exercised), 4 usage error.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="recorded exchanges; '-' is stdin")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="auto")
    parser.add_argument(
        "--path-prefix",
        type=path_prefix_argument,
        default="",
        help="the path the endpoint is under in the recording (a gateway's), e.g. /api/v2, or "
        "the base URL whose path it is",
    )
    parser.add_argument("--report-dir", default="reports", help="where reports are written")
    add_cli_options(parser, COMMAND_OPTIONS)  # what the findings mean for a gate, as for a run
    parser.add_argument(
        "--shard",
        type=shard_argument,
        default=ALL,
        metavar="K/N",
        help="judge only shard K of N (by job id); merge the parts with report --merge",
    )
    parser.set_defaults(handler=_run)


def path_prefix_argument(text: str) -> str:
    """``--path-prefix``'s argparse type: a path, or a base URL (``run --base-url``'s) whose path
    it is; anything else is a usage error (exit 4), not a filter that skips every record."""
    if text.lower().startswith(("http://", "https://")):
        return url_path(text)
    if text and not text.startswith("/"):
        # Named without what a URL would carry of credentials (a mistyped one, say).
        shown = redact_url(text)
        example = "" if "://" in text else f" (e.g. /{shown})"
        raise argparse.ArgumentTypeError(
            f"{shown!r} is not a path: expected one starting with '/'{example} or an http(s) "
            "base URL such as run's --base-url"
        )
    return text


def _run(args: argparse.Namespace) -> int:
    from jobs_conformance.render import show_command_reports
    from jobs_conformance.report import report_folder
    from jobs_conformance.signals import StopSignals

    named = [input_name(name) for name in args.files]  # ./t.ndjson is t.ndjson
    twice = next((given for n, given in enumerate(args.files) if named[n] in named[:n]), None)
    if twice is not None:
        # Read twice, every exchange would count twice and each read be its own repeat; a
        # second read of stdin finds it empty, and says nothing.
        raise UsageError("FILE", twice, "each input named once")
    settings = resolve_cli(args, COMMAND_OPTIONS)
    report_dir = report_folder(Path(args.report_dir))
    # SIGTERM and SIGHUP (CI cancelling the job) stop it as Ctrl-C does.
    with StopSignals().installed() as stops:
        report = observe_record(
            args.files,
            fmt=args.fmt,
            path_prefix=args.path_prefix,
            strict=settings.strict,
            shard=args.shard,
            policy=checked_policy(policy_of(settings), settings.sources),
        )
        with stops.finishing():
            return show_command_reports(
                report, report_dir, case="observe::recorded traffic", redactor=Redactor()
            )
