"""The requests the suite sends, one function per intent, each returning an Exchange to judge.

The contract tests, the fault self-test and the benchmarks all probe a target
through these, so what "a case-variant request" or "an unauthenticated
request" means is written once.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jobs_conformance.client import Client
from jobs_conformance.exchange import Exchange, Intent
from jobs_conformance.strategies.uuids import EDGE_UUIDS, NIL_UUID

T = TypeVar("T")

__all__ = [
    "FIXED_IDS",
    "PREFLIGHT_ID",
    "SEEDED_ID_PREFIX",
    "Probe",
    "alter_credentials",
    "case_variants",
    "concurrently",
    "fetch",
    "fetch_many",
    "in_seed_namespace",
    "is_seeded",
    "seed_and_fetch",
    "well_formed",
    "without_credentials",
]


@dataclass(frozen=True)
class Probe:
    """One GET to send: the raw id, why it is asked, and what the answer is compared with."""

    raw_id: str
    intent: Intent
    headers: Mapping[str, str] | None = field(default=None, hash=False)
    baseline: Exchange | None = None
    expected: Mapping[str, Any] | None = field(default=None, hash=False)
    label: str = ""  # the class of the request, as findings group it
    about: str | None = None  # the held job a derived request is about
    detail: str = ""

    def send(self, client: Client) -> Exchange:
        """GET the id and wrap the answer with why it was asked."""
        request, response = client.get_job(self.raw_id, headers=self.headers)
        return Exchange(
            response,
            self.intent,
            request,
            self.raw_id,
            self.baseline,
            self.expected,
            label=self.label,
            about=self.about,
            detail=self.detail,
            sent_headers=self.headers,
        )


def fetch(
    client: Client,
    raw_id: str,
    intent: Intent,
    *,
    headers: Mapping[str, str] | None = None,
    baseline: Exchange | None = None,
    expected: Mapping[str, Any] | None = None,
) -> Exchange:
    """GET ``raw_id`` and wrap the answer with why it was asked."""
    return Probe(raw_id, intent, headers, baseline, expected).send(client)


def concurrently(
    pool: Executor | None,
    calls: Sequence[Callable[[], T]],
    *,
    return_exceptions: bool = False,
    limit: int | None = None,
) -> list[Any]:
    """Run independent calls on ``pool`` (in order without one); results keep their order.

    Every call is waited for before the first failure is re-raised, so no
    request is left running behind a failed test. With ``return_exceptions``
    a failed call's exception takes its place in the results instead. With
    ``limit``, at most that many of these calls are queued or running at
    once, so bulk work leaves the rest of the pool to other callers.
    """

    def outcome(call: Callable[[], T]) -> Any:
        try:
            return call()
        except Exception as exc:  # handed back to the caller, in its place
            if not return_exceptions:
                raise
            return exc

    if pool is None or len(calls) < 2:
        return [outcome(call) for call in calls]
    if not limit:
        futures = [pool.submit(outcome, call) for call in calls]
    else:
        slots = threading.BoundedSemaphore(limit)

        def bounded(call: Callable[[], T]) -> Any:
            try:
                return outcome(call)
            finally:
                slots.release()

        futures = []
        for call in calls:
            slots.acquire()
            futures.append(pool.submit(bounded, call))
    wait(futures)
    return [future.result() for future in futures]


def fetch_many(client: Client, pool: Executor | None, probes: Sequence[Probe]) -> list[Exchange]:
    """Send independent probes concurrently; the exchanges come back in the probes' order."""
    return concurrently(pool, [functools.partial(probe.send, client) for probe in probes])


def case_variants(job_id: str) -> list[str]:
    """Other spellings of ``job_id``: upper case, lower case, then mixed, minus itself.

    The first two are always the all-upper and all-lower forms it is not: a
    store that folds case one way finds one of them.
    """
    upper = job_id.upper()
    mixed = "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(job_id))
    return [v for v in dict.fromkeys((upper, job_id.lower(), mixed)) if v != job_id]


def _named(name: str, names: Collection[str]) -> bool:
    return name.lower() in {n.lower() for n in names}


def without_credentials(headers: Mapping[str, str], names: Collection[str]) -> dict[str, str]:
    """``headers`` minus the credential headers ``names`` (any case)."""
    return {k: v for k, v in headers.items() if not _named(k, names)}


def alter_credentials(headers: Mapping[str, str], names: Collection[str]) -> dict[str, str]:
    """``headers`` with each of the credential headers ``names`` changed in its last character."""

    def altered(value: str) -> str:
        return value[:-1] + ("x" if not value.endswith("x") else "y") if value else "x"

    return {k: altered(v) if _named(k, names) else v for k, v in headers.items()}


# Jobs the suite seeds have ids that start with these hex digits, so the
# tests that send "unknown" ids (which skip this prefix) never meet one.
SEEDED_ID_PREFIX = "5eed"


def is_seeded(job_id: str) -> bool:
    """Whether ``job_id`` is in the namespace of seeded jobs (any case)."""
    return job_id[: len(SEEDED_ID_PREFIX)].lower() == SEEDED_ID_PREFIX


def in_seed_namespace(job_id: str) -> str:
    """``job_id`` moved into the seeded namespace, keeping the case of its first hex digits."""
    prefix = (
        SEEDED_ID_PREFIX.upper() if job_id[: len(SEEDED_ID_PREFIX)].isupper() else SEEDED_ID_PREFIX
    )
    return prefix + job_id[len(SEEDED_ID_PREFIX) :]


# An id of version 4 that no target holds by chance, sent before any test.
PREFLIGHT_ID = "00000000-0000-4000-8000-000000000000"

# Every fixed well-formed id the suite sends: a target may hold any of them
# (teams seed the doc's example id), so none is judged as unknown.
FIXED_IDS = frozenset(i.lower() for i in (*EDGE_UUIDS, PREFLIGHT_ID))


def form_label(job_id: str) -> str:
    """What a well-formed id's answer may depend on: its version nibble and its case."""
    if job_id.lower() == NIL_UUID:
        return "nil"
    letters = [c for c in job_id if c.isalpha()]
    case = (
        "upper"
        if letters and all(c.isupper() for c in letters)
        else "mixed"
        if any(c.isupper() for c in letters)
        else "lower"
    )
    return f"version {job_id[14]}, {case} case"


def well_formed(job_id: str, held_ids: frozenset[str]) -> Probe | None:
    """The probe that judges a well-formed id the suite drew or chose; None for a held or seeded one.

    Held jobs (in any case) are the known-job plan's, with their other forms;
    a fixed id may be held, so only a random one is judged as unknown.
    """
    key = job_id.lower()
    if key in held_ids or is_seeded(job_id):
        return None
    intent = Intent.MAYBE_HELD if key in FIXED_IDS else Intent.UNKNOWN
    return Probe(job_id, intent, label=form_label(job_id))


def seed_and_fetch(client: Client, seed_url: str, job: Mapping[str, Any]) -> Exchange:
    """PUT ``job`` to ``{seed_url}/{id}``, then GET it back from the base URL, twice (the second
    read is returned, with the first as its baseline)."""
    body = json.dumps(job, ensure_ascii=False).encode("utf-8")
    url = seed_url.rstrip("/") + "/" + job["id"]
    headers = {**client.settings.headers, "Content-Type": "application/json"}
    request, response = client.send("PUT", url, headers=headers, body=body, seeding=True)
    if not 200 <= response.status < 300:
        # A conforming job the seeding URL will not store cannot come back:
        # the oracle reports the refusal itself (the PUT is the evidence).
        return Exchange(response, Intent.SEEDED, request, job["id"], None, job)
    # Read twice: a field that changes between reads is http.idempotent's
    # finding, not a value the store changed.
    first = fetch(client, job["id"], Intent.SEEDED, expected=job)
    return fetch(client, job["id"], Intent.SEEDED, expected=job, baseline=first)
