"""One conformance run inside a pytest session: target, client, pool, what was judged, the record.

The pytest hooks (``plugin.py``) drive it; it holds no pytest state of its
own beyond what it is handed, so it is tested directly. Its life:
:meth:`ConformanceSession.start` (the embedded reference when no target is
given, the client, the worker pool), :meth:`preflight`, then contract tests
judge exchanges through :attr:`recorder` and each test's end is filed with
:meth:`file_outcome`; :meth:`finish` builds, writes and returns the record.
"""

from __future__ import annotations

import collections
import datetime
import functools
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from jobs_conformance import __version__
from jobs_conformance.client import NO_VERSION, Client, ClientSettings, TransportFailure
from jobs_conformance.contract import Contract, counts, load_contract
from jobs_conformance.errors import NoHeldJobFound, TargetUnreachable, WrongVersion
from jobs_conformance.exchange import Exchange, Intent
from jobs_conformance.gate import Gate
from jobs_conformance.hints import NOT_FOUND, not_checked_reason, not_found_hint, nothing_to_judge
from jobs_conformance.oracle import judge
from jobs_conformance.outcomes import Kind, Outcome
from jobs_conformance.plan import (
    OTHER_CASES_OF_MISSING,
    KnownProbes,
    comparison_probes,
    near_miss_probes,
    other_case_probes,
    sampled_jobs,
)
from jobs_conformance.probes import PREFLIGHT_ID, Probe, concurrently, fetch_many, well_formed
from jobs_conformance.redact import Redactor, redact_url
from jobs_conformance.reference.app import API_KEY_HEADER, SEED_PATH
from jobs_conformance.render import write_human_reports
from jobs_conformance.replay import NoVerdict, exchange_for, reproductions
from jobs_conformance.report import CaseOutcome, build_report, write_json, write_junit
from jobs_conformance.results import FailingClass, Results
from jobs_conformance.settings import Option, Settings

__all__ = ["ConformanceSession", "Recorder", "RunState", "not_checked_reason"]


@dataclass
class RunState:
    """What a run learnt besides verdicts; what a pytest-xdist worker hands the controller."""

    unreachable: str | None = None
    budget_spent: bool = False
    requests_sent: int = 0
    targets: list[str] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)  # TargetIdentity.to_dict()

    def merge(self, other: RunState) -> None:
        self.unreachable = self.unreachable or other.unreachable
        self.budget_spent = self.budget_spent or other.budget_spent
        self.requests_sent += other.requests_sent
        self.targets.extend(other.targets)
        self.identity = _merged_identity(self.identity, other.identity)


def _merged_identity(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    if not first or not second:
        return first or second
    versions = collections.Counter(first["versions"]) + collections.Counter(second["versions"])
    return {
        "addresses": sorted({*first["addresses"], *second["addresses"]}),
        "tls_sha256": sorted({*first["tls_sha256"], *second["tls_sha256"]}),
        "versions": dict(sorted(versions.items())),
    }


class Recorder:
    """What a contract test uses to judge an exchange: record it, and fail on what counts.

    One per run (so Hypothesis tests may use it); it files each exchange under
    the test that is running, which the plugin sets before every test.
    """

    def __init__(self, session: ConformanceSession) -> None:
        self.session = session
        self.test = ""
        self.memo: dict[Probe, Exchange] = {}

    def start(self, test: str) -> None:
        self.test = test
        self.memo = {}

    def record(self, exchange: Exchange) -> list[str]:
        """Judge and file ``exchange``; the failures that count, one line each."""
        session = self.session
        judgement = judge(exchange, session.contract)
        session.results.observe(exchange, judgement, test=self.test)
        request = exchange.request
        where = (
            f" ({request.method} {request.url} -> {exchange.response.status})" if request else ""
        )
        # Every counting violation fails its test, waived or not: what a test
        # explores must not depend on the waivers (Hypothesis stops at a
        # failure). The gate decides at the end what fails the run.
        return [
            f"{v.requirement}: {v.message}{where}"
            for v in judgement.violations
            if counts(v.severity, strict=session.settings.strict)
        ]

    def check_all(self, exchanges: Iterable[Exchange]) -> None:
        """Judge every exchange, then fail once with all that counted (in these exchanges only:
        inside Hypothesis, each example must pass or fail on its own evidence)."""
        lines = [line for exchange in exchanges for line in self.record(exchange)]
        if lines:
            raise AssertionError(self.session.redactor.text("\n".join(lines)))


class ConformanceSession:
    """The state of one conformance run."""

    def __init__(
        self,
        settings: Settings,
        *,
        schemathesis: bool = False,
        contract: Contract | None = None,
        spell: Callable[[Option], str] = lambda o: o.cli_flag,
    ) -> None:
        self.settings = settings
        self.spell = spell  # how the user names options: in messages and reasons
        # A gate's run is targeted: on the 41-fault catalogue schemathesis's
        # generation found nothing the project's strategies missed, and it
        # cost 40% of the run. --schemathesis, or a thorough run where it is
        # installed, adds it.
        self.schemathesis = schemathesis
        self.active = False  # whether this process ran (or merged) contract tests
        self.contract = contract or load_contract()
        self.results = Results(self.contract)
        self.outcomes: list[CaseOutcome] = []
        self.state = RunState()
        self.notes: list[str] = []
        if settings.profile == "thorough" and not schemathesis:
            self.notes.append(
                "schemathesis's generation was not run: install jobs-conformance[schemathesis]."
            )
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self._clock = time.monotonic()
        self.embedded = settings.base_url is None
        self.headers = dict(settings.headers)
        self.auth_headers = settings.auth_headers
        if self.embedded:
            # The embedded reference requires a key so auth.required is checked
            # too; a fresh one each run, redacted like any configured secret.
            self.headers.setdefault(API_KEY_HEADER, "ref-" + secrets.token_urlsafe(18))
            self.auth_headers = tuple(dict.fromkeys((*self.auth_headers, API_KEY_HEADER)))
        self.redactor = Redactor.for_settings(settings, self.headers)
        self.gate = Gate.of(
            settings, catalogue=[r.id for r in self.contract.requirements], spell=spell
        )
        self.seed_url = settings.seed_url
        self.known_ids = list(settings.job_ids)
        if self.embedded:
            from jobs_conformance.reference.corpus import load_corpus

            self.known_ids = [job["id"] for job in load_corpus()]
        self.recorder = Recorder(self)
        self.server: Any = None
        self._embedded_url: str | None = None  # known once the embedded server answered
        self.client: Client | None = None
        self.pool: ThreadPoolExecutor | None = None
        self._known: dict[str, KnownProbes] = {}
        # Requirements of contract tests a selection (-k, -m) left out.
        self.deselected: set[str] = set()
        self._held_checked = False
        self._missing_tried = 0  # held jobs not found whose other cases were tried
        self._prefetch: Future[None] | None = None
        self._prefetch_pool: ThreadPoolExecutor | None = None
        self.report: dict[str, Any] | None = None
        self.report_error: str | None = None

    def not_checked_reason(self, applies: str) -> str:
        return not_checked_reason(applies, self.spell)

    @functools.cached_property
    def held_ids(self) -> frozenset[str]:
        """Lower-case ids of every job the target is known to hold."""
        return frozenset(i.lower() for i in self.known_ids)

    @property
    def target(self) -> str:
        if self.embedded and self.server is None and self.state.targets:
            return f"embedded reference ({len(self.state.targets)} pytest-xdist workers, one server each)"
        if self.embedded:
            return f"embedded reference {self._embedded_url or '(not started)'}"
        return redact_url(str(self.settings.base_url))

    # --- Lifecycle.

    def boot_embedded(self) -> None:
        """Start the embedded reference server's process (once); it boots in the background."""
        if self.embedded and self.server is None:
            from jobs_conformance.reference.server import ReferenceProcess

            self.server = ReferenceProcess(
                api_key=self.headers[API_KEY_HEADER],
                allow_seeding=True,
                threads=max(8, self.settings.workers),
            )

    def start(self) -> Client:
        """Start the embedded server if needed and open the client (once)."""
        if self.client is not None:
            return self.client
        base_url = self.settings.base_url
        if self.embedded:
            self.boot_embedded()
            base_url = self._embedded_url = self.server.base_url
            self.seed_url = self.seed_url or base_url + SEED_PATH
        if self.settings.workers > 1:
            self.pool = ThreadPoolExecutor(
                self.settings.workers, thread_name_prefix="jobs-conformance"
            )
        self.client = Client(
            ClientSettings.of(self.settings, base_url=str(base_url), headers=self.headers),
            self.redactor,
        )
        return self.client

    def preflight(self) -> None:
        """Before any test: one request, so an unreachable target ends the run at once, then
        the declared jobs (:meth:`check_held_jobs`).

        Raises TargetUnreachable or NoHeldJobFound with one clear message
        instead of failing every test; then nothing is judged, not even this
        request (at the wrong place, its 404 says nothing of the endpoint).
        """
        client = self.start()
        probe = well_formed(PREFLIGHT_ID, self.held_ids)
        exchange = None
        if probe is not None:  # else the target holds it: the known-job plan asks for it
            try:
                exchange = probe.send(client)
            except TransportFailure as exc:
                raise TargetUnreachable(f"the target did not answer: {exc.reason}") from exc
        self.check_held_jobs()
        self.check_version()
        if exchange is not None:
            # Its own recorder: it runs inside the first test's setup, whose
            # exchanges are filed under that test.
            preflight = Recorder(self)
            preflight.start("preflight")
            preflight.record(exchange)
            self.results.finish_test("preflight")

    def stop(self, *, abandon: bool = False) -> None:
        """Close the pool, the client and the embedded server.

        ``abandon``: the run was stopped; requests still in flight are left
        to their threads (the process ends), not waited for up to --timeout.
        """
        for pool in (self.pool, self._prefetch_pool):
            if pool is not None:
                pool.shutdown(wait=not abandon, cancel_futures=True)
        if self.client is not None:
            self.state.requests_sent += self.client.requests_sent
            self.state.identity = _merged_identity(
                self.state.identity, self.client.identity.to_dict()
            )
            self.client.close()
            self.client = None
        if self.server is not None:
            self.server.stop()

    # --- Sending.

    def send(self, probes: list[Probe]) -> list[Exchange]:
        """The probes' exchanges, fetched ``--workers`` at a time, in order.

        Within one test, a probe asked again (Hypothesis replays examples while it
        shrinks) is answered from the exchange already received instead of
        resent. Only probes whose verdict does not depend on when they are asked
        go this way (unknown, malformed and unauthenticated ids); idempotency has
        its own test.
        """
        memo = self.recorder.memo
        missing = [p for p in dict.fromkeys(probes) if p not in memo]
        for probe, exchange in zip(
            missing, fetch_many(self.start(), self.pool, missing), strict=True
        ):
            memo[probe] = exchange
        return [memo[p] for p in probes]

    def _bulk(self) -> Callable[[list[Callable[[], Any]]], list[Any]]:
        # No more of the plan queued than the pool runs at once: a test's own
        # batch, a round trip Hypothesis waits on before drawing the next,
        # then waits behind one round of the plan, not all of it (20 ms
        # latency: 0.90 s a run, against 1.06 s with the whole plan queued
        # and 0.97 s with half the pool kept free).
        return functools.partial(
            concurrently, self.pool, return_exceptions=True, limit=self.settings.workers
        )

    def check_version(self) -> None:
        """With ``--expect-version``: raises WrongVersion when the target named another one (a
        gate run in the middle of a rollout must not judge the old pods)."""
        message = self._version_problem()
        if message:
            raise WrongVersion(message)

    def _version_problem(self) -> str | None:
        expected = self.settings.expect_version
        if not expected or (self.client is None and not self.state.identity):
            return None
        versions = (
            dict(self.client.identity.versions)
            if self.client is not None
            else self.state.identity.get("versions", {})
        )
        # An answer without the header (an ingress refusing a malformed id itself) says
        # nothing of the version where the expected one was seen.
        other = {
            v: n
            for v, n in versions.items()
            if v != expected and not (v == NO_VERSION and expected in versions)
        }
        if not other:
            return None
        served = ", ".join(
            f"no {self.settings.version_header} header ({n} answers)"
            if v == NO_VERSION
            else f"{v!r} ({n} answers)"
            for v, n in sorted(other.items())
        )
        return (
            f"the target served another version than {expected!r} in "
            f"{self.settings.version_header}: {served}"
        )

    def check_held_jobs(self) -> None:
        """Before any test: the declared jobs' canonical GETs (and other cases of those not
        found), a round at a time, until an answer says the target is the right one.

        Raises NoHeldJobFound when not one declared job was found in any
        form: a wrong base URL or id list, not a verdict on the service. The
        rest of the plan is fetched later (:meth:`prefetch_known`), so a long
        id list neither delays the run nor takes a budget first.
        """
        if self._held_checked or not self.known_ids:
            return
        self._held_checked = True
        size = max(self.settings.workers, 1)
        for start in range(0, len(self.known_ids), size):
            chunk = self.known_ids[start : start + size]
            self._fetch_baselines(chunk)
            answers = {
                e.response.status
                for probes in (self._known[i] for i in chunk)
                if probes.fetched
                for e in (probes.baseline, *probes.others())
            }
            if answers - NOT_FOUND:
                return
        # Only when every declared job was answered: a budget spent or a
        # request that failed is no evidence that the jobs are elsewhere.
        if all(probes.fetched for probes in self._known.values()):
            raise NoHeldJobFound(
                not_found_hint(
                    [e for p in self._known.values() for e in (p.baseline, *p.others())],
                    len(self.known_ids),
                    self._embedded_url or str(self.settings.base_url or ""),
                    str(self.contract.spec.get("servers", [{}])[0].get("url", "")),
                    self.spell,
                )
            )

    def _fetch_baselines(self, ids: list[str]) -> None:
        """The canonical GETs of ``ids``; for those not found, their other cases (a bounded number)."""
        client = self.start()
        baselines = self._bulk()(
            [functools.partial(Probe(i, Intent.KNOWN).send, client) for i in ids]
        )
        for job_id, baseline in zip(ids, baselines, strict=True):
            self._known[job_id] = KnownProbes(baseline)
        missing = [
            job_id
            for job_id in ids
            if self._known[job_id].fetched and self._known[job_id].baseline.response.status != 200
        ][: max(0, OTHER_CASES_OF_MISSING - self._missing_tried)]
        self._missing_tried += len(missing)
        self._send_plan(
            [
                (job_id, probe)
                for job_id in missing
                for probe in other_case_probes(job_id, self._known[job_id].baseline)
            ]
        )

    def _send_plan(self, plan: list[tuple[str, Probe]]) -> None:
        answers = self._bulk()([functools.partial(p.send, self.start()) for _, p in plan])
        for (job_id, probe), exchange in zip(plan, answers, strict=True):
            self._known[job_id].add(probe.intent, exchange)

    def known_probes(self) -> dict[str, KnownProbes]:
        """Every request the known-job tests make (:mod:`jobs_conformance.plan`), fetched once, by id."""
        self.prefetch_known()
        assert self._prefetch is not None
        self._prefetch.result()
        return self._known

    def prefetch_known(self) -> None:
        """Start fetching the rest of the known-job plan in the background (once).

        It shares the ``--workers`` pool with the other tests, so the pool
        stays busy while those wait on their own round trips.
        """
        if self._prefetch is None:
            self._prefetch_pool = ThreadPoolExecutor(1, thread_name_prefix="jobs-conformance-plan")
            self._prefetch = self._prefetch_pool.submit(self._fetch_known)

    def _fetch_known(self) -> None:
        self.check_held_jobs()
        self._fetch_baselines([i for i in self.known_ids if i not in self._known])
        found = [i for i in self.known_ids if self._known[i].found]
        plan = [
            (job_id, probe)
            for job_id in sampled_jobs(self.known_ids)
            if self._known[job_id].fetched
            for probe in comparison_probes(job_id, self._known[job_id].baseline)
            if probe.intent is not Intent.CASE_VARIANT or not self._known[job_id].others()
        ]
        # Near misses of jobs that were found: a lenient parser turns them
        # back into a job the target serves.
        plan += [(str(probe.about), probe) for probe in near_miss_probes(found)]
        self._send_plan(plan)
        for probes in self._known.values():
            probes.with_alternates()

    def confirm_findings(self) -> None:
        """Send each finding's simplest request again ``--confirm`` times (once, in the process
        that found it): one that does not fail every time is flaky."""
        times = self.settings.confirm
        unconfirmed = [
            failing
            for result in self.results.rows()
            for failing in result.classes.values()
            if failing.example.probe is not None and failing.reproduced is None
        ]
        if not times or not unconfirmed or self.client is None:
            return
        client = self.client

        def confirm(failing: FailingClass) -> tuple[int, int]:
            # What replay sends: the comparison's own request (a case variant's declared
            # id) goes again too, so a one-off glitch in it is not confirmed.
            seen = sent = 1  # the run's own
            finding = {"requirement": failing.requirement, "class": failing.name}
            for _ in range(times):
                try:
                    again = exchange_for(
                        failing.example.probe,
                        client,
                        auth_headers=self.auth_headers,
                        seed_url=self.seed_url,
                    )
                    hit = bool(reproductions(finding, again, self.contract))
                except NoVerdict:  # a budget spent, no answer, "later": no more evidence
                    break
                sent += 1
                seen += hit
            return seen, sent

        for failing, reproduced in zip(
            unconfirmed,
            concurrently(self.pool, [functools.partial(confirm, f) for f in unconfirmed]),
            strict=True,
        ):
            failing.reproduced = reproduced

    # --- Outcomes.

    def file_outcome(
        self,
        test: str,
        outcome: str,
        duration_s: float,
        requirements: tuple[str, ...],
        message: str,
        classified: Outcome | None = None,
    ) -> str:
        """Record one contract test's end; returns the outcome it is reported with.

        ``classified`` is what its exception meant (:func:`jobs_conformance.outcomes.classify`).
        """
        kind = classified.kind if classified else None
        if kind is Kind.BUDGET_SPENT:
            self.state.budget_spent = True
            outcome, message = "skipped", classified.message if classified else message
        elif kind is Kind.UNREACHABLE and classified:
            self.state.unreachable = classified.message
            self.results.error(classified.message)
        elif kind in (Kind.TRANSPORT, Kind.SUITE_ERROR, Kind.CRASH) and classified:
            self.results.error(f"{test}: {classified.message}")
        if outcome == "failed" and kind not in (None, Kind.VIOLATION):
            outcome = "error"
        self.results.finish_test(test)
        self.outcomes.append(
            CaseOutcome(test, outcome, duration_s, requirements, self.redactor.text(message))
        )
        return outcome

    def unreachable(self, message: str) -> None:
        """No answer at all, or no declared job found: no verdict on anything."""
        self.state.unreachable = message
        self.results.error(message)

    # --- pytest-xdist: a worker's part, carried to the controller as plain data.

    def worker_data(self) -> dict[str, Any]:
        self.confirm_findings()  # each worker sends its own findings again
        self.stop()
        state = RunState(**{**asdict(self.state), "targets": [self.target]})
        return {
            "results": self.results.to_data(),
            "outcomes": [asdict(o) for o in self.outcomes],
            "state": asdict(state),
        }

    def merge_worker(self, data: dict[str, Any]) -> None:
        self.results.merge(data["results"])
        self.outcomes.extend(
            CaseOutcome(**{**o, "requirements": tuple(o["requirements"])}) for o in data["outcomes"]
        )
        self.state.merge(RunState(**data["state"]))

    # --- Finish.

    def _incomplete(self, interrupted: bool) -> set[str]:
        """Requirements the run did not judge completely: a budget spent or a stop cut every
        one short; a test deselected, skipped or in error, its own."""
        if interrupted or self.state.budget_spent:
            return {r.id for r in self.contract.requirements}
        cut = {
            requirement
            for outcome in self.outcomes
            if outcome.outcome in ("skipped", "error")
            for requirement in outcome.requirements
        }
        return cut | self.deselected

    def contract_failures(self) -> int:
        return sum(o.outcome in ("failed", "error") for o in self.outcomes)

    def finish(
        self, *, interrupted: bool, seed: str, stopped_by: str | None = None
    ) -> dict[str, Any]:
        """Stop, give every not-checked requirement its reason, build and write the record.

        ``stopped_by``: the signal that interrupted the run, when one did.
        """
        state = self.state
        if not interrupted and state.unreachable is None:
            self.confirm_findings()
        self.stop(abandon=interrupted)
        version = self._version_problem()
        if version and state.unreachable is None:
            # The target changed under the run (a rollout): no verdict on either version,
            # whatever was found.
            self.results.error(version)
        for result in self.results.rows():
            if result.status != "not-checked":
                continue
            if state.unreachable:
                result.reason = "no verdict: the run ended before it could be checked (see above)"
            elif state.budget_spent:
                result.reason = (
                    f"request budget of {self.settings.max_requests} spent before it was checked"
                )
            elif result.requirement.applies == "known-job" and self.known_ids:
                # Held jobs were read; none could show it (body.timeline needs two
                # valid timestamps, body.workflow-order the member).
                result.reason = nothing_to_judge(result.requirement.id)
            else:
                result.reason = self.not_checked_reason(result.requirement.applies)
        unchecked = [r for r in self.results.rows() if r.requirement.applies == "known-job"]
        if (
            all(r.status == "not-checked" for r in unchecked)
            and not self.known_ids
            and not interrupted
            and not state.unreachable
        ):
            self.notes.append(
                "No held job was read: body-level and known-job requirements were not checked "
                f"({self.not_checked_reason('known-job')})."
            )
        versions = state.identity.get("versions", {})
        if self.settings.version_header and versions and set(versions) == {NO_VERSION}:
            self.notes.append(
                f"No answer carried the header {self.settings.version_header} "
                "(--version-header): is its name right?"
            )
        if state.budget_spent:
            self.notes.append(
                f"The request budget (--max-requests {self.settings.max_requests}) was spent."
            )
        if interrupted and state.unreachable is None:
            by = f" ({stopped_by})" if stopped_by else ""
            self.notes.append(
                f"The run was interrupted{by}; the report holds what was checked until then."
            )
        if state.unreachable and not any(o.outcome == "error" for o in self.outcomes):
            # Ended before any test (unreachable, no declared job found): JUnit
            # must not read as an empty green suite.
            self.outcomes.append(
                CaseOutcome("contract/run::preflight", "error", 0.0, (), state.unreachable)
            )
        report = build_report(
            self.results,
            gate=self.gate,
            waivers_file=str(self.settings.waivers) if self.gate.waivers else None,
            baseline_file=str(self.settings.baseline) if self.settings.baseline else None,
            target=self.target,
            started=self.started,
            duration_s=time.monotonic() - self._clock,
            spec_sha256=self.contract.spec_sha256,
            seed=seed,
            strict=self.settings.strict,
            interrupted=interrupted or state.unreachable is not None or bool(version),
            identity={**state.identity, "version_header": self.settings.version_header},
            incomplete=self._incomplete(interrupted or bool(version)),
            out_of_scope={
                r.id
                for r in self.contract.requirements
                if (r.applies == "seeding" and not self.seed_url)
                or (r.applies == "credentials" and not self.auth_headers)
            },
            requests_sent=state.requests_sent,
            known_jobs=len(self.known_ids),
            notes=self.notes,
            suite_version=__version__,
            redactor=self.redactor,
        )
        self.report = report
        if report["waivers"]["stale"] and self.settings.strict_waivers:
            # What fails the run must read as a failure in JUnit too.
            keys = ", ".join(w["key"] for w in report["waivers"]["stale"])
            self.outcomes.append(
                CaseOutcome(
                    "contract/run::waivers",
                    "failed",
                    0.0,
                    (),
                    f"stale waivers (--strict-waivers): {keys}: their findings were not seen",
                )
            )
        report_dir = self.settings.report_dir
        try:
            write_json(report, report_dir)
            write_junit(
                self.outcomes, report_dir, redactor=self.redactor, findings=report["findings"]
            )
            write_human_reports(report, report_dir)
        except OSError as exc:
            self.report_error = f"reports could not be written to {report_dir}: {exc}"
        return report
