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
Exchanges of other endpoints and other methods are counted as skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import io
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from jobs_conformance.contract import Contract, load_contract
from jobs_conformance.errors import UsageError
from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent
from jobs_conformance.redact import Redactor

__all__ = ["FORMATS", "Observed", "add_parser", "exchanges_of", "observe", "read_records"]

FORMATS = ("auto", "ndjson", "har", "vcr")
_GZIP = b"\x1f\x8b"


@dataclass
class Observed:
    """What reading the traffic found besides verdicts."""

    exchanges: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # why -> how many
    unreadable: list[str] = field(default_factory=list)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


# --- Reading: records of (method, url, status, headers, body) from any input.


@dataclass(frozen=True)
class Record:
    """One recorded exchange, as the inputs give it."""

    method: str
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None  # None: recorded without its body
    request_headers: tuple[tuple[str, str], ...] = ()


def _opened(name: str) -> IO[bytes]:
    if name == "-":
        stream: IO[bytes] = sys.stdin.buffer
    else:
        try:
            stream = open(name, "rb")  # noqa: SIM115 - closed by the caller
        except OSError as exc:
            raise UsageError("FILE", name, f"a readable file ({exc.strerror})") from None
    head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
    if head == _GZIP:
        return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]
    return stream


def read_records(name: str, fmt: str, observed: Observed) -> Iterator[Record]:
    """The records of one input (``-`` is stdin), format detected from the content or ``fmt``."""
    stream = io.BufferedReader(_opened(name))  # type: ignore[arg-type]
    chosen = fmt if fmt != "auto" else _detected(stream.peek(4096))
    reader = {"har": _har, "vcr": _vcr}.get(chosen, _ndjson)
    yield from reader(stream, name, observed)


def _detected(head: bytes) -> str:
    """The format of an input from its first bytes: a HAR document, a VCR cassette, NDJSON."""
    start = head.lstrip()
    if start.startswith(b"{") and b'"log"' in head and b'"entries"' in head:
        return "har"
    if not start.startswith((b"{", b"[")) and b"http_interactions:" in head:
        return "vcr"
    return "ndjson"


def _ndjson(stream: IO[bytes], name: str, observed: Observed) -> Iterator[Record]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            yield _record(item)
        except (ValueError, KeyError, TypeError) as exc:
            observed.unreadable.append(f"{name}:{number}: not an exchange ({exc})")


def _record(item: Mapping[str, Any]) -> Record:
    """An NDJSON exchange, or an access-log line (``path`` or ``request`` for the URL, no body)."""
    url = item.get("url") or item.get("uri") or item.get("path")
    method = item.get("method")
    if url is None and isinstance(item.get("request"), str):
        # "GET /api/v2/jobs/... HTTP/1.1", as common log formats write it
        method, url, *_ = str(item["request"]).split(" ")
    body = item.get("body")
    if isinstance(body, str):
        data: bytes | None = body.encode("utf-8")
    elif body is None:
        data = None
    else:  # a JSON value recorded as such: its canonical text
        data = json.dumps(body).encode("utf-8")
    if url is None:
        raise KeyError("url")
    return Record(
        str(method or "GET").upper(),
        str(url),
        int(item["status"]),
        tuple((str(k), str(v)) for k, v in dict(item.get("headers") or {}).items()),
        data,
        tuple((str(k), str(v)) for k, v in dict(item.get("request_headers") or {}).items()),
    )


def _har(stream: IO[bytes], name: str, observed: Observed) -> Iterator[Record]:
    # A HAR is one JSON document: read whole (browser and proxy exports are
    # bounded by what they recorded).
    try:
        entries = json.load(stream)["log"]["entries"]
    except (ValueError, KeyError, TypeError) as exc:
        observed.unreadable.append(f"{name}: not a HAR 1.2 document ({exc})")
        return
    for number, entry in enumerate(entries):
        try:
            request, response = entry["request"], entry["response"]
            content = response.get("content") or {}
            text = content.get("text")
            if text is not None and content.get("encoding") == "base64":
                import base64

                body: bytes | None = base64.b64decode(text)
            else:
                body = text.encode("utf-8") if isinstance(text, str) else None
            yield Record(
                str(request["method"]).upper(),
                str(request["url"]),
                int(response["status"]),
                tuple((h["name"], h["value"]) for h in response.get("headers") or ()),
                body,
                tuple((h["name"], h["value"]) for h in request.get("headers") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            observed.unreadable.append(f"{name}: entry {number}: not an exchange ({exc})")


def _vcr(stream: IO[bytes], name: str, observed: Observed) -> Iterator[Record]:
    # A schemathesis cassette (`st run --report vcr`): VCR-style YAML, one document.
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        interactions = yaml.load(stream, Loader=loader)["http_interactions"]
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        observed.unreadable.append(f"{name}: not a VCR cassette ({exc})")
        return
    for number, interaction in enumerate(interactions or ()):
        try:
            request, response = interaction["request"], interaction["response"]
            body = response.get("body") or {}
            if "base64_string" in body:
                import base64

                data: bytes | None = base64.b64decode(body["base64_string"])
            else:
                text = body.get("string")
                data = text.encode("utf-8") if isinstance(text, str) else None
            yield Record(
                str(request["method"]).upper(),
                str(request["uri"]),
                int(response["status"]["code"]),
                _vcr_headers(response.get("headers")),
                data,
                _vcr_headers(request.get("headers")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            observed.unreadable.append(f"{name}: interaction {number}: not an exchange ({exc})")


def _vcr_headers(headers: Any) -> tuple[tuple[str, str], ...]:
    # name -> list of values
    return tuple(
        (str(k), str(v))
        for k, values in dict(headers or {}).items()
        for v in (values if isinstance(values, list) else [values])
    )


# --- Judging: records to exchanges with the intent the traffic allows.


def exchanges_of(
    records: Iterable[Record],
    observed: Observed,
    *,
    path_prefix: str = "",
    contract: Contract | None = None,
    redactor: Redactor | None = None,
) -> Iterator[Exchange]:
    """The records of ``GET {path_prefix}/jobs/{jobId}`` as exchanges to judge, then what the
    same job read again shows (idempotency, case)."""
    contract = contract or load_contract()
    redactor = redactor or Redactor()
    # The first answer seen of each job: (its id as requested, status, updatedAt, body digest).
    seen: dict[str, tuple[Exchange, str | None, str]] = {}
    for record in records:
        job_id = _job_id(record.url, path_prefix)
        if job_id is None:
            observed.skip("another endpoint")
            continue
        if record.method != "GET":
            observed.skip(f"method {record.method}")
            continue
        observed.exchanges += 1
        request = HttpRequest(
            "GET", redactor.text(record.url), redactor.headers(record.request_headers)
        )
        response = HttpResponse(record.status, redactor.headers(record.headers), record.body or b"")
        well_formed = bool(contract.path_pattern.search(job_id))
        # A recorded well-formed id may or may not be held: 200, 404 and 410 are all
        # answers a conforming service gives it.
        intent = Intent.MAYBE_HELD if well_formed else Intent.MALFORMED
        exchange = Exchange(
            response, intent, request, job_id, body_recorded=record.body is not None
        )
        yield exchange
        if well_formed and record.body is not None:
            yield from _again(exchange, seen)


def _again(
    exchange: Exchange, seen: dict[str, tuple[Exchange, str | None, str]]
) -> Iterator[Exchange]:
    """What a job read before shows with this answer: a repeat, or another case."""
    key = str(exchange.job_id).lower()
    job = exchange.job or {}
    updated = job.get("updatedAt") if isinstance(job.get("updatedAt"), str) else None
    digest = hashlib.sha256(exchange.response.body).hexdigest()
    first = seen.get(key)
    if first is None:
        # The first answer, kept small: its status and body are what later reads compare with.
        seen[key] = (exchange, updated, digest)
        return
    before, before_updated, before_digest = first
    if before.job_id != exchange.job_id:
        yield dataclasses.replace(exchange, intent=Intent.CASE_VARIANT, baseline=before)
    elif (
        before.response.status == exchange.response.status == 200
        and updated is not None
        and updated == before_updated
        and digest != before_digest
    ):
        # The same updatedAt, another body: reading the job changed it, or two
        # replicas disagree about one version.
        yield dataclasses.replace(exchange, intent=Intent.REPEAT, baseline=before)


def _job_id(url: str, path_prefix: str) -> str | None:
    path = urlsplit(url).path
    if path_prefix:
        if not path.startswith(path_prefix.rstrip("/") + "/"):
            return None
        path = path[len(path_prefix.rstrip("/")) :]
    head, sep, segment = path.rpartition("/jobs/")
    # Under a prefix, the path is exactly {prefix}/jobs/{jobId}; without one, any
    # path that ends so.
    if not sep or "/" in segment or (path_prefix and head):
        return None
    return unquote(segment)


# --- The command.


_REASONS = {
    "http.malformed-4xx": "no malformed id was requested",
    "http.unknown-404": "no well-formed id was requested",
    "http.case-insensitive": "no job was read in two cases",
    "http.idempotent": "no job was read twice with the same updatedAt",
    "http.status-known": "recorded traffic cannot tell a held job from an unknown one",
    "auth.required": "recorded traffic cannot show what a request without credentials gets",
    "seed.round-trip": "recorded traffic holds no seeding",
}


def observe(
    names: Iterable[str],
    *,
    fmt: str = "auto",
    path_prefix: str = "",
    strict: bool = False,
    report_dir: Path = Path("reports"),
) -> tuple[int, dict[str, Any]]:
    """Judge the recorded exchanges of ``names``; the exit code and the record (written)."""
    import datetime
    import time

    from jobs_conformance import __version__
    from jobs_conformance.oracle import judge
    from jobs_conformance.render import write_command_reports
    from jobs_conformance.report import build_report
    from jobs_conformance.results import Results

    contract = load_contract()
    started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
    observed, results = Observed(), Results(contract)
    sources = list(names)
    for name in sources:
        records = read_records(name, fmt, observed)
        for exchange in exchanges_of(records, observed, path_prefix=path_prefix, contract=contract):
            results.observe(exchange, judge(exchange, contract), test=f"observe::{name}")
        results.finish_test(f"observe::{name}")
    bodies = any(r.checked for r in results.rows() if r.requirement.id.startswith("body."))
    for result in results.rows():
        if result.status == "not-checked":
            result.reason = (
                "no 200 body was recorded"
                if result.requirement.id.startswith("body.") and not bodies
                else _REASONS.get(result.requirement.id, "the recorded traffic never showed it")
            )
    for message in observed.unreadable:
        results.error(message)
    notes = [
        f"{observed.exchanges} exchanges of GET /jobs/{{jobId}} judged; "
        + (
            ", ".join(f"{n} skipped ({why})" for why, n in sorted(observed.skipped.items()))
            or "none skipped"
        )
    ]
    report = build_report(
        results,
        target="recorded traffic: " + ", ".join(sources),
        started=started,
        duration_s=time.monotonic() - clock,
        spec_sha256=contract.spec_sha256,
        seed="recorded",
        strict=strict,
        interrupted=False,
        requests_sent=0,
        known_jobs=0,
        notes=notes,
        suite_version=__version__,
        redactor=Redactor(),
    )
    report["coverage"] = {
        "exchanges": observed.exchanges,
        "skipped": dict(sorted(observed.skipped.items())),
        "unreadable": len(observed.unreadable),
        "could_show": {r["id"]: r["checked"] for r in report["requirements"]},
        "never_exercised": [
            r["id"] for r in report["requirements"] if r["status"] == "not-checked"
        ],
    }
    code = write_command_reports(
        report, report_dir, case="observe::recorded traffic", redactor=Redactor()
    )
    return int(code), report


def add_parser(subparsers: Any) -> None:
    """``jobs-conformance observe``."""
    parser = subparsers.add_parser(
        "observe",
        help="judge recorded traffic of GET /jobs/{jobId} (HAR, NDJSON; gzip; '-' for stdin)",
        description="Judge recorded exchanges with the run's oracle; reports as run writes them. "
        "Exit 0 conforming, 1 violations, 2 no verdict (unreadable input, nothing exercised), "
        "4 usage error.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="recorded exchanges; '-' is stdin")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="auto")
    parser.add_argument(
        "--path-prefix",
        default="",
        help="the path the endpoint is under in the recording (a gateway's), e.g. /api/v2",
    )
    parser.add_argument("--strict", action="store_true", help="should-level findings fail too")
    parser.add_argument("--report-dir", default="reports", help="where reports are written")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from jobs_conformance.render import render_console

    code, report = observe(
        args.files,
        fmt=args.fmt,
        path_prefix=args.path_prefix,
        strict=args.strict,
        report_dir=Path(args.report_dir),
    )
    for line in render_console(report, report_dir=Path(args.report_dir)):
        print(line.text)
    return code
