"""The pytest plugin: options, the target, verdicts, reports and the exit code of a conformance run.

Loaded through its entry point in every pytest run; it stays passive unless
the session collects contract tests (tests marked ``requirement``). Then it
resolves one :class:`~jobs_conformance.settings.Settings`, starts the
embedded reference server when no ``--base-url`` is given, records every
judged exchange, writes ``conformance.json`` and ``junit.xml``, prints the
per-requirement table and sets the exit code: 0 conforming, 1 violations,
2 no verdict, 4 usage error.
"""

from __future__ import annotations

import datetime
import functools
import secrets
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from jobs_conformance import __version__
from jobs_conformance.client import BudgetExhausted, Client, ClientSettings, TransportFailure
from jobs_conformance.contract import contract_tests_dir, load_contract
from jobs_conformance.errors import ExitCode, SuiteError, TargetUnreachable, UsageError
from jobs_conformance.exchange import Exchange, Intent
from jobs_conformance.oracle import applicable, judge
from jobs_conformance.probes import Probe, case_variants, concurrently, fetch, fetch_many
from jobs_conformance.redact import Redactor
from jobs_conformance.render import write_human_reports
from jobs_conformance.report import CaseOutcome, build_report, write_json, write_junit
from jobs_conformance.results import Results
from jobs_conformance.settings import OPTIONS, PresetSettings, Settings, resolve
from strategies.uuids import NEAR_MISS_KINDS, near_miss

# A CI gate that flips between runs is worse than none: `ci` is derandomized
# and keeps no example database, so the same code gives the same verdict.
# Every example is a request to the target: no "explain" phase (it replays
# examples to annotate a failure) and one bug per test (hunting distinct bugs
# means shrinking each), so a failing target costs few extra requests.
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=30,
    deadline=None,
    print_blob=False,
    phases=_PHASES,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    phases=_PHASES,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")

RUN_KEY = pytest.StashKey["ConformanceRun"]()
# Where Hypothesis's pytest plugin keeps a test's failing examples for its patch writer.
_HYPOTHESIS_PATCH_KEY = "_hypothesis_failing_examples"
# The contract module of schemathesis's generation, collected only when it is
# asked for (--schemathesis, or the thorough profile).
SCHEMATHESIS_MODULE = "test_schemathesis.py"

_EMBEDDED_KEY_HEADER = "X-Api-Key"


class ConformanceRun:
    """The state of one conformance run inside a pytest session."""

    def __init__(self, config: pytest.Config, run_settings: Settings) -> None:
        self.config = config
        self.settings = run_settings
        self.contract = load_contract()
        self.results = Results(self.contract)
        self.outcomes: list[CaseOutcome] = []
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.clock = time.monotonic()
        self.active = False
        self.embedded = run_settings.base_url is None
        self.headers = dict(run_settings.headers)
        if self.embedded and _EMBEDDED_KEY_HEADER not in self.headers:
            # The embedded reference requires a key so auth.required is checked
            # too; a fresh one each run, redacted like any configured secret.
            self.headers[_EMBEDDED_KEY_HEADER] = "ref-" + secrets.token_urlsafe(18)
        self.redactor = Redactor.for_headers(self.headers)
        self.server: Any = None
        self.client: Client | None = None
        self.seed_url = run_settings.seed_url
        # A gate's run is targeted: on the 41-fault catalogue schemathesis's
        # generation found nothing the project's strategies missed, and it
        # cost 40% of the run (importing it alone 0.17 s). A thorough run,
        # where breadth is the point, or --schemathesis runs it as well.
        self.schemathesis = (
            run_settings.schemathesis or config.getoption("hypothesis_profile", None) == "thorough"
        )
        self.known_ids = list(run_settings.job_ids)
        if self.embedded:
            from jobs_conformance.reference.corpus import load_corpus

            self.known_ids = [job["id"] for job in load_corpus()]
        self.notes: list[str] = []
        self.unreachable: str | None = None
        self.budget_spent = False
        self._known: dict[str, KnownProbes] = {}
        self._prefetch: Future[None] | None = None
        self.pool: ThreadPoolExecutor | None = None
        self.recorder = Recorder(self, "")
        self.requests_sent = 0  # sent by pytest-xdist workers, on the controller
        self.other_failures = 0  # failed tests that are not contract tests
        self.worker_targets: list[str] = []
        self.report: dict[str, Any] | None = None
        self.report_error: str | None = None

    @functools.cached_property
    def held_ids(self) -> frozenset[str]:
        """Lower-case ids of every job the target is known to hold."""
        return frozenset(i.lower() for i in self.known_ids)

    @property
    def target(self) -> str:
        if self.embedded and self.server is None and self.worker_targets:
            return f"embedded reference ({len(self.worker_targets)} pytest-xdist workers, one server each)"
        if self.embedded:
            url = self.server.base_url if self.server else "(not started)"
            return f"embedded reference {url}"
        return str(self.settings.base_url)

    def start(self) -> Client:
        """Start the embedded server if needed and open the client (once)."""
        if self.client is not None:
            return self.client
        base_url = self.settings.base_url
        if self.embedded:
            self.boot_embedded()
            base_url = self.server.base_url
            self.seed_url = self.seed_url or base_url + "/__seed/jobs"
        if self.settings.workers > 1:
            self.pool = ThreadPoolExecutor(
                self.settings.workers, thread_name_prefix="jobs-conformance"
            )
        self.client = Client(
            ClientSettings(
                base_url=str(base_url),
                headers=self.headers,
                timeout_s=self.settings.timeout,
                max_requests=self.settings.max_requests,
                rate_limit=self.settings.rate_limit,
                max_body_bytes=self.settings.max_body_bytes,
                verify=self.settings.verify,
                pool_size=self.settings.workers,
            ),
            self.redactor,
        )
        return self.client

    def boot_embedded(self) -> None:
        """Start the embedded reference server's process (once); it boots in the background."""
        if self.server is None:
            from jobs_conformance.reference.server import ReferenceProcess

            self.server = ReferenceProcess(
                api_key=self.headers[_EMBEDDED_KEY_HEADER],
                allow_seeding=True,
                threads=max(8, self.settings.workers),
            )

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.client is not None:
            self.client.close()
        if self.server is not None:
            self.server.stop()

    def known_probes(self) -> dict[str, KnownProbes]:
        """Every request the known-job tests make, fetched once, by job id.

        Fetched ``--workers`` at a time: the canonical GET of every known job
        (body faults depend on the data, so each job is read), then, for a
        spread sample of :data:`PROBED_JOBS` of them, the repeats, case variants
        and near misses compared with it (lookup, parsing and idempotency
        faults do not depend on which job is asked). The tests only judge.
        """
        self.prefetch_known()
        assert self._prefetch is not None
        self._prefetch.result()
        return self._known

    def prefetch_known(self) -> None:
        """Start fetching the known-job plan in the background (once).

        It shares the ``--workers`` pool with the other tests, so the pool
        stays busy while those wait on their own round trips.
        """
        if self._prefetch is None:
            self._prefetch = ThreadPoolExecutor(
                1, thread_name_prefix="jobs-conformance-plan"
            ).submit(self._prefetch_known)

    def _prefetch_known(self) -> None:
        client = self.start()
        # No more of the plan queued than the pool runs at once: a test's own
        # batch, a round trip Hypothesis waits on before drawing the next,
        # then waits behind one round of the plan, not all of it (20 ms
        # latency: 0.90 s a run, against 1.06 s with the whole plan queued
        # and 0.97 s with half the pool kept free).
        bulk = functools.partial(
            concurrently, self.pool, return_exceptions=True, limit=self.settings.workers
        )
        baselines = bulk(
            [functools.partial(Probe(i, Intent.KNOWN).send, client) for i in self.known_ids]
        )
        plans: dict[str, list[Probe]] = {}
        sampled = set(_spread_sample(self.known_ids, PROBED_JOBS))
        for job_id, baseline in zip(self.known_ids, baselines, strict=True):
            self._known[job_id] = KnownProbes(baseline)
            if isinstance(baseline, BaseException) or job_id not in sampled:
                continue
            plans[job_id] = [
                *(Probe(job_id, Intent.REPEAT, baseline=baseline) for _ in range(2)),
                *(
                    Probe(v, Intent.CASE_VARIANT, baseline=baseline)
                    for v in case_variants(job_id)[:2]
                ),
                *(Probe(near_miss(job_id, kind), Intent.MALFORMED) for kind in NEAR_MISS_KINDS),
            ]
        flat = [(job_id, probe) for job_id, plan in plans.items() for probe in plan]
        answers = bulk([functools.partial(p.send, client) for _, p in flat])
        for (job_id, probe), exchange in zip(flat, answers, strict=True):
            self._known[job_id].add(probe.intent, exchange)


PROBED_JOBS = 8


def _spread_sample(ids: list[str], count: int) -> list[str]:
    """Up to ``count`` of ``ids``, evenly spread, preferring ids with hex letters (case variants need them)."""
    lettered = [i for i in ids if any(c.isalpha() for c in i)]
    pool = lettered if len(lettered) >= count else ids
    if len(pool) <= count:
        return list(pool)
    step = len(pool) / count
    return [pool[int(n * step)] for n in range(count)]


class KnownProbes:
    """The exchanges about one known job: its canonical GET, and what is compared with it."""

    def __init__(self, baseline: Exchange | BaseException) -> None:
        self._baseline = baseline
        self._by_intent: dict[Intent, list[Exchange | BaseException]] = {}

    def add(self, intent: Intent, exchange: Exchange | BaseException) -> None:
        self._by_intent.setdefault(intent, []).append(exchange)

    @property
    def baseline(self) -> Exchange:
        if isinstance(self._baseline, BaseException):
            raise self._baseline
        return self._baseline

    def of(self, intent: Intent) -> list[Exchange]:
        """The exchanges of one intent; re-raises what went wrong fetching them."""
        self.baseline  # noqa: B018 - a failed canonical GET fails every test of the job
        exchanges = self._by_intent.get(intent, [])
        for exchange in exchanges:
            if isinstance(exchange, BaseException):
                raise exchange
        return exchanges  # type: ignore[return-value]


class Recorder:
    """What a contract test uses to judge an exchange: record it, and fail on what counts.

    One per run (so Hypothesis tests may use it); it files each exchange under
    the test that is running, which the plugin sets before every test.
    """

    def __init__(self, run: ConformanceRun, test: str) -> None:
        self.run = run
        self.test = test
        self.memo: dict[Probe, Exchange] = {}

    def start(self, test: str) -> None:
        self.test = test
        self.memo = {}

    def record(self, exchange: Exchange) -> list[str]:
        judgement = judge(exchange, self.run.contract)
        self.run.results.observe(exchange, judgement, applicable(exchange), test=self.test)
        strict = self.run.settings.strict
        failing = [v for v in judgement.violations if v.severity == "must" or strict]
        request = exchange.request
        where = (
            f" ({request.method} {request.url} -> {exchange.response.status})" if request else ""
        )
        return [f"{v.requirement}: {v.message}{where}" for v in failing]

    def check(self, exchange: Exchange) -> None:
        """Judge ``exchange``; raise AssertionError if a counted requirement failed."""
        self.check_all([exchange])

    def check_all(self, exchanges: Iterable[Exchange]) -> None:
        """Judge every exchange, then fail once with all that counted (in these exchanges only:
        inside Hypothesis, each example must pass or fail on its own evidence)."""
        lines = [line for exchange in exchanges for line in self.record(exchange)]
        if lines:
            raise AssertionError(self.run.redactor.text("\n".join(lines)))


# --- Options.


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jobs-conformance", "Jobs API conformance (see also --base-url)")
    for option in OPTIONS:
        kwargs: dict[str, Any] = {
            "dest": "jc_" + option.dest,
            "help": f"{option.help} [env {option.env}]",
        }
        if option.kind == "list":
            kwargs["action"] = "append"
        elif option.kind == "flag":
            kwargs["action"] = "store_true"
        else:
            kwargs["default"] = None
        group.addoption(option.pytest_flag or option.flag, **kwargs)
        parser.addini(
            option.ini,
            help=option.help,
            type="args" if option.kind == "list" else "string",
            default=None,
        )


def _ini(config: pytest.Config) -> Any:
    def get(name: str) -> Any:
        value = config.getini(name)
        return value or None

    return get


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): catalogue requirements a contract test checks"
    )
    config.addinivalue_line("markers", "seeding: the test stores jobs on the target (runs last)")
    preset = next(
        (p for p in config.pluginmanager.get_plugins() if isinstance(p, PresetSettings)), None
    )
    try:
        if preset is not None:
            run_settings = preset.settings
        else:
            given = {option.dest: config.getoption("jc_" + option.dest) for option in OPTIONS}
            run_settings = resolve(
                given, base_url=config.getoption("base_url", None), ini=_ini(config)
            )
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    if run_settings.insecure:
        config.issue_config_time_warning(
            pytest.PytestWarning("--insecure: TLS certificates are NOT verified"), stacklevel=2
        )
    run = ConformanceRun(config, run_settings)
    config.stash[RUN_KEY] = run
    if run.embedded and _runs_contract_tests(config):
        run.boot_embedded()


def _runs_contract_tests(config: pytest.Config) -> bool:
    # Boot the embedded server while pytest collects, but only in a process
    # that will run contract tests: not an xdist controller, not a run of the
    # suite's own tests alone.
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return False
    contract = contract_tests_dir().resolve()
    for arg in config.args or [str(config.rootpath)]:
        path = Path(str(arg).split("::", 1)[0]).resolve()
        if path == contract or contract in path.parents or path in contract.parents:
            return True
    return False


def _run(config: pytest.Config) -> ConformanceRun:
    return config.stash[RUN_KEY]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # Not collected at all when off: importing schemathesis is most of its cost.
    if (
        collection_path.name == SCHEMATHESIS_MODULE
        and collection_path.parent.resolve() == contract_tests_dir()
        and not _run(config).schemathesis
    ):
        return True
    return None


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = _run(config)
    profile = settings.default
    seeding = run.settings.seed_url or ("embedded" if run.embedded else "off")
    return [
        f"jobs-conformance {__version__}: target {run.settings.base_url or 'embedded reference server'}",
        f"  known jobs {len(run.known_ids)}, seeding {seeding}, strict {run.settings.strict}, "
        f"hypothesis max_examples={profile.max_examples} derandomize={profile.derandomize}, "
        f"schemathesis {'on' if run.schemathesis else 'off'}",
    ]


# --- Collection: known jobs as parameters, requirement ids validated.


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    run = _run(config)
    catalogue = {r.id for r in run.contract.requirements}
    for item in items:
        for mark in item.iter_markers("requirement"):
            run.active = True
            unknown = set(mark.args) - catalogue
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: unknown requirement ids {sorted(unknown)}")
    # Known-job tests judge what is fetched in the background from the start,
    # so they come after the property tests; seeding adds jobs to the target,
    # so it comes last, where no other test can meet a seeded id.
    items.sort(
        key=lambda item: (
            item.get_closest_marker("seeding") is not None,
            "known" in getattr(item, "fixturenames", ()),
        )
    )


# --- Fixtures.

# Why a requirement was not checked, by what it needs (its `applies`).
_NOT_CHECKED_REASONS = {
    "known-job": "no known jobs: give --job-id / --job-ids-file, or --seed-url",
    "credentials": "no credentials configured (--header)",
    "seeding": "no seeding URL configured (--seed-url)",
    "always": "no test reached it",
}


@pytest.fixture(scope="session")
def conformance(request: pytest.FixtureRequest) -> Iterator[ConformanceRun]:
    """The run: started target, client, known ids, settings."""
    run = _run(request.config)
    try:
        run.start()
        _preflight(run)
        # Under a request budget, which requests get it must not depend on
        # thread timing (the verdict would flip between runs): no head start.
        if run.known_ids and run.settings.max_requests is None:
            run.prefetch_known()
    except (TargetUnreachable, TransportFailure) as exc:
        # No answer to the very first request: no verdict on anything.
        message = (
            str(exc)
            if isinstance(exc, TargetUnreachable)
            else f"the target did not answer: {exc.reason}"
        )
        run.unreachable = message
        run.results.error(message)
        pytest.exit(f"jobs-conformance: {message}", returncode=int(ExitCode.NO_VERDICT))
    yield run


def _preflight(run: ConformanceRun) -> None:
    # One request before any test, so an unreachable target ends the run at
    # once with one clear message instead of failing every test.
    recorder = Recorder(run, "preflight")
    exchange = fetch(run.client, "00000000-0000-4000-8000-000000000000", Intent.UNKNOWN)
    if exchange.job_id not in run.held_ids:
        recorder.record(exchange)
        run.results.finish_test("preflight")


@pytest.fixture(scope="session")
def client(conformance: ConformanceRun) -> Client:
    """The run's HTTP client."""
    assert conformance.client is not None
    return conformance.client


@pytest.fixture(scope="session")
def verdicts(conformance: ConformanceRun) -> Recorder:
    """Judge and record exchanges for the running test."""
    return conformance.recorder


def pytest_runtest_setup(item: pytest.Item) -> None:
    _run(item.config).recorder.start(item.nodeid)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    if _requirements_of(item):
        # Hypothesis's plugin turns a failing example into an @example patch
        # for the test's source file. For a contract test that patch is of no
        # use (the counterexample is in the report, the source is the suite's)
        # and building it imports libcst: about 0.2 s per failing test.
        item.__dict__.pop(_HYPOTHESIS_PATCH_KEY, None)


@pytest.fixture(scope="session")
def send(conformance: ConformanceRun) -> Any:
    """``send(probes)``: the probes' exchanges, fetched ``--workers`` at a time, in order.

    Within one test, a probe asked again (Hypothesis replays examples while it
    shrinks) is answered from the exchange already received instead of
    resent. Only probes whose verdict does not depend on when they are asked
    go this way (unknown, malformed and unauthenticated ids); idempotency has
    its own test.
    """

    def send_probes(probes: list[Probe]) -> list[Exchange]:
        memo = conformance.recorder.memo
        missing = [p for p in dict.fromkeys(probes) if p not in memo]
        for probe, exchange in zip(
            missing, fetch_many(conformance.client, conformance.pool, missing), strict=True
        ):
            memo[probe] = exchange
        return [memo[p] for p in probes]

    return send_probes


@pytest.fixture(scope="session")
def in_parallel(conformance: ConformanceRun) -> Any:
    """``in_parallel(calls)``: the calls' results, run ``--workers`` at a time, in order."""
    return functools.partial(concurrently, conformance.pool)


@pytest.fixture(scope="session")
def known(conformance: ConformanceRun) -> dict[str, KnownProbes]:
    """The known-job exchanges by id; skips (not-checked) when no job is known."""
    if not conformance.known_ids:
        pytest.skip(_NOT_CHECKED_REASONS["known-job"])
    return conformance.known_probes()


@pytest.fixture(scope="session")
def held_ids(conformance: ConformanceRun) -> frozenset[str]:
    """Lower-case ids of every job the target is known to hold."""
    return conformance.held_ids


@pytest.fixture(scope="session")
def credentials(conformance: ConformanceRun) -> dict[str, str]:
    """The configured headers; skips (auth.required not-checked) when there are none."""
    if not conformance.headers:
        pytest.skip(f"{_NOT_CHECKED_REASONS['credentials']}: auth.required is not checked")
    return conformance.headers


@pytest.fixture(scope="session")
def seed_url(conformance: ConformanceRun) -> str:
    """The seeding URL; skips (seed.round-trip not-checked) when none is configured."""
    if not conformance.seed_url:
        pytest.skip(f"{_NOT_CHECKED_REASONS['seeding']}: seed.round-trip is not checked")
    return conformance.seed_url


# --- Outcomes.


def _requirements_of(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        ids.extend(mark.args)
    return tuple(dict.fromkeys(ids))


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``exc``, or the first ``kind`` inside Hypothesis's flaky/group wrappers."""
    if isinstance(exc, kind):
        return exc
    for inner in getattr(exc, "exceptions", None) or ():
        found = _find(inner, kind)
        if found is not None:
            return found
    return None


def _is_failure(exc: BaseException) -> bool:
    """An assertion (a verdict on the target), possibly inside Hypothesis's flaky/group wrappers."""
    if isinstance(exc, AssertionError):
        return True
    group = getattr(exc, "exceptions", None)
    return isinstance(group, (list, tuple)) and bool(group) and all(_is_failure(e) for e in group)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    run = _run(item.config)
    requirements = _requirements_of(item)
    if not requirements:
        # A test of the suite itself (in a session that also runs contract
        # tests): its failure must decide the exit code, whatever the verdict.
        if report.failed:
            run.other_failures += 1
        return report
    excinfo = call.excinfo
    if excinfo is not None and call.when == "call" and report.outcome != "skipped":
        exc = excinfo.value
        exc = _find(exc, BudgetExhausted) or _find(exc, TargetUnreachable) or exc
        if isinstance(exc, BudgetExhausted):
            run.budget_spent = True
            report.outcome = "skipped"
            report.longrepr = (str(item.path), 0, f"Skipped: {exc}")
        elif isinstance(exc, TargetUnreachable):
            run.unreachable = str(exc)
            run.results.error(str(exc))
            item.session.shouldstop = f"target unreachable: {exc}"
        elif isinstance(exc, TransportFailure):
            run.results.error(
                f"{item.nodeid}: {exc.reason} ({exc.request.method} {exc.request.url})"
            )
        elif isinstance(exc, SuiteError):
            run.results.error(f"{item.nodeid}: {exc}")
        elif not _is_failure(exc):
            run.results.error(f"{item.nodeid}: {type(exc).__name__}: {exc}")
    if call.when == "call" or (call.when == "setup" and report.outcome != "passed"):
        run.results.finish_test(item.nodeid)
        message = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2])
        elif report.failed and excinfo is not None:
            message = f"{type(excinfo.value).__name__}: {excinfo.value}"
        outcome = report.outcome
        if outcome == "failed" and excinfo is not None and not _is_failure(excinfo.value):
            outcome = "error"
        run.outcomes.append(
            CaseOutcome(
                item.nodeid, outcome, report.duration, requirements, run.redactor.text(message)
            )
        )
    return report


# --- Finish: reasons, reports, exit code, summary table.


def _contract_failures(run: ConformanceRun) -> int:
    return sum(o.outcome in ("failed", "error") for o in run.outcomes)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: fold a finished worker's results into the controller's."""
    data = getattr(node, "workeroutput", {}).get("jobs_conformance")
    if not data:
        return
    run = _run(node.config)
    run.active = True
    run.results.merge(data["results"])
    run.outcomes.extend(CaseOutcome(**o) for o in data["outcomes"])
    run.requests_sent += data["requests_sent"]
    run.budget_spent = run.budget_spent or data["budget_spent"]
    run.unreachable = run.unreachable or data["unreachable"]
    run.worker_targets.append(data["target"])
    run.other_failures += data["other_failures"]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = _run(session.config)
    if not run.active:
        return
    if _is_worker(session.config):
        # Under pytest-xdist each worker sends what it gathered to the
        # controller, which writes the one report.
        session.config.workeroutput["jobs_conformance"] = {
            "results": run.results.to_data(),
            "outcomes": [vars(o) | {"requirements": list(o.requirements)} for o in run.outcomes],
            "requests_sent": run.client.requests_sent if run.client else 0,
            "budget_spent": run.budget_spent,
            "unreachable": run.unreachable,
            "target": run.target,
            "other_failures": run.other_failures,
        }
        run.stop()
        return
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or run.unreachable is not None
    for result in run.results.rows():
        if result.status == "not-checked":
            if run.unreachable:
                result.reason = f"no verdict: {run.unreachable}"
            elif run.budget_spent:
                result.reason = (
                    f"request budget of {run.settings.max_requests} spent before it was checked"
                )
            elif result.requirement.id == "http.case-insensitive" and run.known_ids:
                result.reason = "no known id has hex letters to change the case of"
            else:
                result.reason = _NOT_CHECKED_REASONS[result.requirement.applies]
    if not run.known_ids and not run.seed_url and not run.unreachable:
        run.notes.append(
            "No known jobs and no seeding: body-level and known-job requirements were not checked."
        )
    if run.budget_spent:
        run.notes.append(
            f"The request budget (--max-requests {run.settings.max_requests}) was spent."
        )
    if exitstatus == pytest.ExitCode.INTERRUPTED and run.unreachable is None:
        run.notes.append("The run was interrupted; the report holds what was checked until then.")
    report = build_report(
        run.results,
        target=run.target,
        started=run.started,
        duration_s=time.monotonic() - run.clock,
        spec_sha256=run.contract.spec_sha256,
        seed="derandomized"
        if settings.default.derandomize
        else str(session.config.getoption("hypothesis_seed", None) or "random"),
        strict=run.settings.strict,
        interrupted=interrupted,
        requests_sent=run.requests_sent + (run.client.requests_sent if run.client else 0),
        known_jobs=len(run.known_ids),
        notes=run.notes,
        suite_version=__version__,
        redactor=run.redactor,
    )
    run.stop()
    run.report = report
    report_dir = run.settings.report_dir
    try:
        write_json(report, report_dir)
        write_junit(run.outcomes, report_dir, redactor=run.redactor)
        write_human_reports(report, report_dir)
    except OSError as exc:
        run.report_error = f"reports could not be written to {report_dir}: {exc}"
        session.exitstatus = int(ExitCode.NO_VERDICT)
        return
    if run.other_failures or session.testsfailed > _contract_failures(run):
        return  # pytest's own status stands: some test other than a contract test failed
    session.exitstatus = {"pass": ExitCode.CONFORMING, "fail": ExitCode.VIOLATIONS}.get(
        report["verdict"], ExitCode.NO_VERDICT
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = _run(config)
    report = run.report
    if report is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("jobs-conformance")
    if run.report_error:
        write(f"jobs-conformance: {run.report_error}", red=True, bold=True)
    if run.unreachable:
        write(f"jobs-conformance: {run.unreachable}", red=True, bold=True)
        write(
            f"verdict  INCOMPLETE: no requirement could be checked (report in {run.settings.report_dir}/)"
        )
        return
    write(f"target   {report['target']}")
    width = max(len(r["id"]) for r in report["requirements"])
    write(f"{'requirement':<{width}}  severity  status       checked")
    for row in report["requirements"]:
        write(
            f"{row['id']:<{width}}  {row['severity']:<8}  {row['status']:<11}  {row['checked']:>7}"
        )
        if row["status"] == "fail":
            write(
                f"    {row['counterexamples'][0]['message'] if row['counterexamples'] else ''}"[
                    :300
                ]
            )
        elif row["status"] == "not-checked":
            write(f"    {row['reason']}")
    for note in report["notes"] + report["errors"][:5]:
        write(f"note: {note.splitlines()[0]}")
    verdict = report["verdict"].upper()
    write(
        f"verdict  {verdict}  ({report['requests_sent']} requests, {report['duration_s']:.1f} s; "
        f"reports in {run.settings.report_dir}/)",
        bold=True,
        red=verdict != "PASS",
        green=verdict == "PASS",
    )
