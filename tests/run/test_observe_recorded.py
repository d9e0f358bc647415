"""Recorded traffic gets the run's verdicts: ``observe`` judges a HAR and a schemathesis
cassette, recorded from reference servers with faults, as ``run`` judges the same server,
for every requirement the traffic exercised; the coverage section names the rest.

Two recordings, as users bring them. A HAR 1.2 of the run's own exchanges, written by
WSGI middleware around the reference app (what a recording proxy would see), so the
run's verdicts and the recording come from the same exchanges. And the VCR cassette
schemathesis's own CLI writes (``st run --report vcr``) against the same server: it
knows no held id but the doc's example (which these servers hold), so it exercises
fewer requirements, and must agree wherever it does.

How verdicts compare: a requirement the recording exercised (any status but
not-checked) has the run's status exactly, ``affected`` included. Both sides are one
oracle and one collector, so ``affected`` against ``pass`` means the two read the same
exchange differently. A requirement the run waived has no verdict to compare (no
waiver file is read here: the runs' working folders hold none).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from tests_support import DOC_EXAMPLE, run_against, statuses

from jobs_conformance.cli import main as cli
from jobs_conformance.contract import default_spec_dir
from jobs_conformance.reference.server import ReferenceServer

pytest_plugins = ["pytester"]


# --- Recording: every exchange of the reference app, as a HAR 1.2 entry.


class _HarRecorder:
    """WSGI middleware recording each exchange of the app it wraps as a HAR 1.2 entry."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started, clock = datetime.datetime.now(datetime.timezone.utc), time.perf_counter()
        answer: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info)

        answered = self._app(environ, start)
        try:
            body = b"".join(answered)
        finally:
            if hasattr(answered, "close"):  # PEP 3333: the server closes what the app returns
                answered.close()
        code, _, reason = answer["status"].partition(" ")
        entry = {
            "startedDateTime": started.isoformat(timespec="microseconds"),
            "time": (time.perf_counter() - clock) * 1000,
            "request": {
                "method": environ["REQUEST_METHOD"],
                "url": _url(environ),
                "httpVersion": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "cookies": [],
                "headers": _pairs(_request_headers(environ)),
                "queryString": [],
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": {
                "status": int(code),
                "statusText": reason,
                "httpVersion": "HTTP/1.1",
                "cookies": [],
                "headers": _pairs(answer["headers"]),
                "content": _content(body, _header(answer["headers"], "Content-Type")),
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": len(body),
            },
            "cache": {},
            "timings": {"send": 0, "wait": 0, "receive": 0},
        }
        with self._lock:
            self._entries.append(entry)
        return [body]

    def har(self) -> dict[str, Any]:
        """The exchanges so far as a HAR 1.2 document, in the order they started."""
        with self._lock:
            entries = sorted(self._entries, key=lambda e: e["startedDateTime"])
        creator = {"name": "tests/run/test_observe_recorded.py", "version": "1"}
        return {"log": {"version": "1.2", "creator": creator, "entries": entries}}


def _url(environ: dict[str, Any]) -> str:
    # REQUEST_URI is the path as sent, percent-escapes kept (what the reference routes on).
    path = environ.get("REQUEST_URI") or quote(
        environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    )
    return f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}{path}"


def _request_headers(environ: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-").title(), value


def _pairs(headers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name.lower()), None)


def _content(body: bytes, mime_type: str | None) -> dict[str, Any]:
    # HAR 1.2: text as such, or base64 with "encoding" when it is not text.
    content: dict[str, Any] = {"size": len(body), "mimeType": mime_type or ""}
    try:
        content["text"] = body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"], content["encoding"] = base64.b64encode(body).decode("ascii"), "base64"
    return content


# --- The servers, the run, the recordings.


@contextlib.contextmanager
def _reference(fault: str | None) -> Iterator[tuple[ReferenceServer, _HarRecorder]]:
    """A reference server with ``fault`` (None: conforming), its exchanges recorded.

    It holds the doc's example job besides its corpus: the one id schemathesis sends
    a job for (a conforming server that holds it is no alarm, tests/run/test_verdicts.py).
    """
    server = ReferenceServer(faults=[fault] if fault else [])
    server.store.put(dict(DOC_EXAMPLE))
    recorder = _HarRecorder(server.app)
    server.app = recorder  # served from start(), which the with statement calls
    with server:
        yield server, recorder


def _run(pytester: pytest.Pytester, server: ReferenceServer) -> dict[str, Any]:
    """``run`` against ``server``, every job it holds declared: its conformance.json."""
    ids = pytester.path / "ids.txt"
    ids.write_text("\n".join(server.job_ids()) + "\n")
    _, report, output = run_against(
        pytester,
        server,
        "--conformance-job-ids-file",
        str(ids),
        report_dir=pytester.path / "run",
    )
    assert report is not None, output
    return report


def _write_har(path: Path, har: dict[str, Any]) -> str:
    path.write_text(json.dumps(har), encoding="utf-8")
    return str(path)


def _cassette(server: ReferenceServer, folder: Path) -> str:
    """``st run`` over spec/openapi.yaml against ``server``; the VCR cassette it wrote."""
    (cassette,) = _schemathesis(server, folder, ("vcr",))
    return cassette


def _schemathesis(
    server: ReferenceServer, folder: Path, reports: tuple[str, ...], config: str = ""
) -> list[str]:
    """``st run`` over spec/openapi.yaml against ``server``, with ``config`` as its
    schemathesis.toml; the recordings it wrote, one per report format, in that order."""
    paths = [folder / f"recording.{kind}" for kind in reports]
    # Deterministic generation, a few examples, no shrinking: the same requests on
    # every run, in a few seconds. By this interpreter, as command_line starts the
    # suite, whatever PATH holds; in a folder of its own, where schemathesis and
    # Hypothesis write theirs (and find their configuration).
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run"),
        str(default_spec_dir() / "openapi.yaml"),
        *("--url", server.base_url),
        *("--report", ",".join(reports)),
        *(f"--report-{kind}-path={path}" for kind, path in zip(reports, paths, strict=True)),
        *("--max-examples", "5", "--generation-deterministic", "--no-shrink", "--no-color"),
    ]
    folder.mkdir()
    (folder / "schemathesis.toml").write_text(config)
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=folder)
    # 0: every check of its own passed; 1: one failed (the fault, seen by schemathesis).
    written = all(path.is_file() for path in paths)
    assert result.returncode in (0, 1) and written, result.stdout + result.stderr
    return [str(path) for path in paths]


def _observe(source: str, report_dir: Path) -> dict[str, Any]:
    """``jobs-conformance observe SOURCE`` (in this process): its conformance.json."""
    code = cli(["observe", source, "--report-dir", str(report_dir)])
    report = json.loads((report_dir / "conformance.json").read_text(encoding="utf-8"))
    # A verdict (0 or 1), on every record: 2 would say some could not be read.
    assert code in (0, 1) and report["coverage"]["unreadable"] == 0, report["notes"]
    assert report["coverage"]["exchanges"] > 0, report["notes"]
    return report


# --- Verdicts compared.


def _disagreements(observed: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """Each requirement the recording exercised whose status is not the run's, with evidence."""
    ours, theirs = statuses(observed), statuses(run)
    return [
        f"{rid}: run {theirs[rid]}, observe {status}{_evidence(rid, observed, run)}"
        for rid, status in ours.items()
        if status != "not-checked" and theirs[rid] not in (status, "waived")
    ]


def _evidence(requirement: str, observed: dict[str, Any], run: dict[str, Any]) -> str:
    """The first example either side gives of ``requirement`` (a pass gives none)."""
    for side, report in (("observe", observed), ("run", run)):
        rows = {r["id"]: r for r in report["requirements"]}
        examples = rows[requirement]["counterexamples"] or [
            example  # an affected row's: the examples of its causes that affect it
            for cause in rows[requirement]["also_affected_by"]
            for example in rows[cause]["counterexamples"]
            if requirement in example["also_affects"]
        ]
        if examples:
            example = examples[0]
            return f" ({side}: GET {example['request']['url']}: {example['message']})"
    return ""


def _assert_coverage_names_the_rest(observed: dict[str, Any]) -> None:
    not_checked = {rid for rid, status in statuses(observed).items() if status == "not-checked"}
    assert set(observed["coverage"]["never_exercised"]) == not_checked
    assert all(
        row["reason"] for row in observed["requirements"] if row["status"] == "not-checked"
    ), observed["requirements"]


def _assert_agrees(
    observed: dict[str, Any], run: dict[str, Any], shows: frozenset[str], fault: str | None
) -> None:
    # What the fault breaks and the recording shows: exercised, so the comparison can fail.
    assert {rid for rid in shows if statuses(run)[rid] == "fail"} == shows, statuses(run)
    assert {rid for rid in shows if statuses(observed)[rid] == "fail"} == shows, statuses(observed)
    disagreements = _disagreements(observed, run)
    assert not disagreements, f"{fault or 'conforming'}:\n" + "\n".join(disagreements)
    _assert_coverage_names_the_rest(observed)


# --- The recordings of the run's own traffic (HAR).

TRAFFIC_CANNOT_SHOW = {"http.status-known", "auth.required", "seed.round-trip"}

# A behaviour (None: the conforming reference) and the requirements its fault breaks
# that a recording of the run's traffic shows. Traffic cannot tell a held job from an
# unknown one (http.status-known), nor a job read twice from a job that changed in
# between when its updatedAt changed too (http.idempotent under touch-updated-at).
HAR_CASES = [
    pytest.param(None, frozenset(), id="conforming"),
    # A malformed id answered 200: an HTML page, and a lenient parser's job.
    pytest.param("malformed-html-200", frozenset({"http.malformed-4xx"}), id="malformed-html-200"),
    pytest.param(
        "lenient-uuid-module", frozenset({"http.malformed-4xx"}), id="lenient-uuid-module"
    ),
    # A wrong status for a well-formed id: versions other than 4 refused as malformed,
    # or one bad member of a pool (flaky); a job fabricated for an unknown id looks held.
    pytest.param("only-v4", frozenset({"http.unknown-404"}), id="only-v4"),
    pytest.param("intermittent-500", frozenset({"http.unknown-404"}), id="intermittent-500"),
    pytest.param("unknown-fabricated", frozenset(), id="unknown-fabricated"),
    pytest.param("content-type-text", frozenset({"http.content-type"}), id="content-type-text"),
    pytest.param("wrong-job", frozenset({"http.id-echo"}), id="wrong-job"),
    # Bodies (ts-offset: the test without bodies below).
    pytest.param("ts-feb29-non-leap", frozenset({"body.datetime"}), id="ts-feb29-non-leap"),
    pytest.param("uuid-version-0", frozenset({"body.uuid"}), id="uuid-version-0"),
    pytest.param("null-omitted", frozenset({"body.required"}), id="null-omitted"),
    pytest.param(
        "case-sensitive-lookup", frozenset({"http.case-insensitive"}), id="case-sensitive-lookup"
    ),
    pytest.param("touch-updated-at", frozenset(), id="touch-updated-at"),
]


@pytest.mark.parametrize(("fault", "shows"), HAR_CASES)
def test_a_har_of_the_runs_traffic_gets_the_runs_verdict_wherever_it_exercised_one(
    pytester, fault, shows
):
    with _reference(fault) as (server, recorder):
        run = _run(pytester, server)
    har = _write_har(pytester.path / "run.har", recorder.har())
    observed = _observe(har, pytester.path / "observed")
    _assert_agrees(observed, run, shows, fault)
    # What only a declared job, credentials or a seeding URL exercises, traffic never does.
    never = set(observed["coverage"]["never_exercised"])
    assert never >= TRAFFIC_CANNOT_SHOW
    if fault is None:
        # The run's traffic exercises the rest (http.idempotent: where observe
        # compares a second read of one version, which it does when the bodies differ).
        assert never <= TRAFFIC_CANNOT_SHOW | {"http.idempotent"}


def test_a_har_without_bodies_leaves_every_body_requirement_not_checked(pytester):
    with _reference("ts-offset") as (server, recorder):
        run = _run(pytester, server)
    har = recorder.har()
    whole = _observe(_write_har(pytester.path / "whole.har", har), pytester.path / "whole")
    for entry in har["log"]["entries"]:
        entry["response"]["content"].pop("text", None)
        entry["response"]["content"].pop("encoding", None)
    stripped = _observe(_write_har(pytester.path / "bare.har", har), pytester.path / "bare")
    # With bodies the fault shows; without them nothing is said of any body, and what
    # the statuses show is still the run's verdict.
    _assert_agrees(whole, run, frozenset({"body.datetime"}), "ts-offset")
    _assert_agrees(stripped, run, frozenset(), "ts-offset without bodies")
    body = {rid for rid in statuses(stripped) if rid.startswith("body.")}
    assert body and {rid for rid in body if statuses(stripped)[rid] == "not-checked"} == body
    assert body <= set(stripped["coverage"]["never_exercised"])
    assert {r["reason"] for r in stripped["requirements"] if r["id"] in body} == {
        "no 200 body was recorded in full"
    }
    assert statuses(stripped)["http.malformed-4xx"] == statuses(run)["http.malformed-4xx"]


# --- schemathesis's cassette of the same server.

# A behaviour and what its fault breaks that schemathesis's requests show: its
# negative ids (the coverage phase) and the doc example's job, the one held id it
# sends. Faults that break every exchange of one kind: one that breaks only some
# jobs (a Feb 29, a null member) or some forms (a near miss of a held id) is not in
# those few requests, which conform, and observe rightly passes what they show.
CASSETTE_CASES = [
    pytest.param(None, frozenset(), id="conforming"),
    pytest.param("malformed-500", frozenset({"http.malformed-4xx"}), id="malformed-500"),
    # Its HTML body and Content-Type are affected by the 200, not failed again.
    pytest.param("malformed-html-200", frozenset({"http.malformed-4xx"}), id="malformed-html-200"),
    pytest.param("ts-offset", frozenset({"body.datetime"}), id="ts-offset"),
    pytest.param("wrong-job", frozenset({"http.id-echo"}), id="wrong-job"),
]


@pytest.mark.parametrize(("fault", "shows"), CASSETTE_CASES)
def test_a_schemathesis_cassette_gets_the_runs_verdict_wherever_it_exercised_one(
    pytester, fault, shows
):
    with _reference(fault) as (server, _):
        run = _run(pytester, server)
        cassette = _cassette(server, pytester.path / "schemathesis")
    observed = _observe(cassette, pytester.path / "observed")
    _assert_agrees(observed, run, shows, fault)
    # Its other methods (the unsupported-method check) are counted, not judged.
    assert all(why.startswith("method ") for why in observed["coverage"]["skipped"])


def test_bodies_schemathesis_recorded_only_a_prefix_of_are_not_judged(pytester):
    # Past [output.truncation] max-recorded-payload-size schemathesis keeps a prefix of a
    # body, and says so: "Body truncated: ..." in its HAR's content.comment, truncated_from
    # in its cassette. A prefix is no evidence of the body served (cut, it is never JSON):
    # the body requirements are not judged on it; the statuses and headers still are.
    config = "[output.truncation]\nmax-recorded-payload-size = 100\n"
    with _reference(None) as (server, _):
        run = _run(pytester, server)
        recordings = _schemathesis(server, pytester.path / "st", ("vcr", "har"), config)
    for recording, marker in zip(recordings, ("truncated_from:", "Body truncated:"), strict=True):
        assert marker in Path(recording).read_text(encoding="utf-8"), "nothing was truncated"
        observed = _observe(recording, pytester.path / Path(recording).suffix[1:])
        _assert_agrees(observed, run, frozenset(), f"conforming, {recording}")
        # The doc example's job, the one 200 schemathesis gets, is longer than 100 bytes.
        assert statuses(observed)["body.json"] == "not-checked"
        assert statuses(observed)["http.content-type"] == "pass"
