"""What contract tests receive: the run, its client, judging, sending, and what each needs.

A fixture whose requirement cannot be checked in this run (no held job, no
credentials, no seeding URL) skips, and the skip's reason becomes the
requirement's not-checked reason in the report.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jobs_conformance.client import Client
from jobs_conformance.errors import ExitCode, NoHeldJobFound, TargetUnreachable, WrongVersion
from jobs_conformance.exchange import Exchange
from jobs_conformance.plan import KnownProbes
from jobs_conformance.probes import Probe, concurrently
from jobs_conformance.session import ConformanceSession, Recorder

SESSION_KEY = pytest.StashKey[ConformanceSession]()


def conformance_session(config: pytest.Config) -> ConformanceSession | None:
    """The conformance run of this pytest session, if it is one."""
    return config.stash.get(SESSION_KEY, None)


@pytest.fixture(scope="session")
def conformance(request: pytest.FixtureRequest) -> Iterator[ConformanceSession]:
    """The run: started target, client, known ids, settings."""
    session = conformance_session(request.config)
    assert session is not None, "the jobs_conformance plugin configures every session it runs in"
    try:
        # Before any test: a run that cannot reach the target, or finds none
        # of the declared jobs, ends here with what was observed, instead of
        # failing on a usage slip.
        session.preflight()
        # Under a request budget, which requests get it must not depend on
        # thread timing (the verdict would flip between runs): no head start.
        if session.known_ids and session.settings.max_requests is None:
            session.prefetch_known()
    except (TargetUnreachable, NoHeldJobFound, WrongVersion) as exc:
        session.unreachable(str(exc))
        pytest.exit(f"jobs-conformance: {exc}", returncode=int(ExitCode.NO_VERDICT))
    yield session


@pytest.fixture(scope="session")
def conformance_client(conformance: ConformanceSession) -> Client:
    """The run's HTTP client."""
    return conformance.start()


@pytest.fixture(scope="session")
def conformance_verdicts(conformance: ConformanceSession) -> Recorder:
    """Judge and record exchanges for the running test."""
    return conformance.recorder


@pytest.fixture(scope="session")
def conformance_send(conformance: ConformanceSession) -> Callable[[list[Probe]], list[Exchange]]:
    """``send(probes)``: the probes' exchanges, ``--workers`` at a time, in order (see ConformanceSession.send)."""
    return conformance.send


@pytest.fixture(scope="session")
def conformance_in_parallel(conformance: ConformanceSession) -> Callable[..., list[Any]]:
    """``in_parallel(calls)``: the calls' results, run ``--workers`` at a time, in order."""
    return functools.partial(concurrently, conformance.pool)


@pytest.fixture(scope="session")
def conformance_known(conformance: ConformanceSession) -> dict[str, KnownProbes]:
    """The known-job exchanges by id; skips (not-checked) when no job is known."""
    if not conformance.known_ids:
        pytest.skip(conformance.not_checked_reason("known-job"))
    return conformance.known_probes()


@pytest.fixture(scope="session")
def conformance_held_ids(conformance: ConformanceSession) -> frozenset[str]:
    """Lower-case ids of every job the target is known to hold."""
    return conformance.held_ids


@pytest.fixture(scope="session")
def conformance_credentials(conformance: ConformanceSession) -> dict[str, str]:
    """The headers sent; skips (auth.required not-checked) unless a credential header is declared."""
    if not conformance.auth_headers:
        pytest.skip(
            f"{conformance.not_checked_reason('credentials')}: auth.required is not checked"
        )
    return conformance.headers


@pytest.fixture(scope="session")
def conformance_seed_url(conformance: ConformanceSession) -> str:
    """The seeding URL; skips (seed.round-trip not-checked) when none is configured."""
    if not conformance.seed_url:
        pytest.skip(f"{conformance.not_checked_reason('seeding')}: seed.round-trip is not checked")
    return conformance.seed_url
