"""The known-job plan: which requests the held jobs get, decided by plain functions.

Every held job's canonical GET is judged (body faults depend on the data).
Lookup, parsing and idempotency faults do not depend on which job is
asked, so only a spread sample of :data:`PROBED_JOBS` jobs also gets the
repeats and case variants compared with its canonical answer, and a few of
those every near miss (:data:`NEAR_MISS_JOBS`). A held job that is not
found gets its other cases too, so that "not found in any form" and "found
in one case only" are told apart.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence

from jobs_conformance.contract import spec_data
from jobs_conformance.exchange import Exchange, Intent
from jobs_conformance.probes import Probe, case_variants
from jobs_conformance.strategies.uuids import NEAR_MISS_KINDS, near_miss

__all__ = [
    "CASE_VARIANTS",
    "NEAR_MISS_JOBS",
    "PROBED_JOBS",
    "REPEATS",
    "KnownProbes",
    "comparison_probes",
    "near_miss_parsers",
    "near_miss_probes",
    "other_case_probes",
    "sampled_jobs",
]

PROBED_JOBS = 8
NEAR_MISS_JOBS = 3
REPEATS = 2
CASE_VARIANTS = 2
# Held jobs not found whose other cases are tried: enough to tell a case
# bug from a missing job, bounded when thousands of ids are declared.
OTHER_CASES_OF_MISSING = 16


def sampled_jobs(ids: Sequence[str], count: int = PROBED_JOBS) -> list[str]:
    """Up to ``count`` of ``ids``, evenly spread, preferring ids with hex letters (case variants need them)."""
    lettered = [i for i in ids if any(c.isalpha() for c in i)]
    pool = lettered if len(lettered) >= count else list(ids)
    if len(pool) <= count:
        return pool
    step = len(pool) / count
    return [pool[int(n * step)] for n in range(count)]


@functools.lru_cache(maxsize=1)
def near_miss_parsers() -> Mapping[str, tuple[str, ...]]:
    """Near-miss kind -> the parsers that read it as the held id (spec/near-misses.yaml)."""
    return {
        entry["kind"]: tuple(entry["parsers"])
        for entry in spec_data("near-misses.yaml")["near_misses"]
    }


def other_case_probes(job_id: str, baseline: Exchange, count: int = CASE_VARIANTS) -> list[Probe]:
    """The same held job with its hex in other cases, compared with its declared form."""
    return [
        Probe(v, Intent.CASE_VARIANT, baseline=baseline, label="another case", about=job_id)
        for v in case_variants(job_id)[:count]
    ]


def comparison_probes(job_id: str, baseline: Exchange) -> list[Probe]:
    """What is compared with one held job's canonical answer: repeats and other cases."""
    return [
        *(Probe(job_id, Intent.REPEAT, baseline=baseline, about=job_id) for _ in range(REPEATS)),
        *other_case_probes(job_id, baseline),
    ]


def near_miss_probes(ids: Sequence[str]) -> list[Probe]:
    """Every near-miss form, for up to :data:`NEAR_MISS_JOBS` of ``ids`` where it applies.

    A form that applies to none of those (a Java short group needs a group
    starting with 0) is sent for the first held id it applies to, if any.
    """
    chosen = sampled_jobs(ids, NEAR_MISS_JOBS)
    parsers = near_miss_parsers()
    probes = []
    for kind in NEAR_MISS_KINDS:
        forms = [(i, near_miss(i, kind)) for i in chosen]
        if all(form is None for _, form in forms):
            forms = [next(((i, f) for i in ids if (f := near_miss(i, kind))), (None, None))]
        probes += [
            Probe(
                form,
                Intent.MALFORMED,
                label=kind,
                about=job_id,
                detail="read as that id by " + ", ".join(parsers.get(kind, ("a lenient parser",))),
            )
            for job_id, form in forms
            if job_id is not None and form is not None
        ]
    return probes


class KnownProbes:
    """The exchanges about one known job: its canonical GET, and what is compared with it."""

    def __init__(self, baseline: Exchange | BaseException) -> None:
        self._baseline = baseline
        self._by_intent: dict[Intent, list[Exchange | BaseException]] = {}

    def add(self, intent: Intent, exchange: Exchange | BaseException) -> None:
        self._by_intent.setdefault(intent, []).append(exchange)

    def with_alternates(self) -> None:
        """Tell each answer what else was tried: the canonical GET the other cases (a job found in
        none is not found), each other case the repeats (what changes between reads anyway)."""
        repeats = tuple(
            e for e in self._by_intent.get(Intent.REPEAT, []) if isinstance(e, Exchange)
        )
        variants = self._by_intent.get(Intent.CASE_VARIANT, [])
        self._by_intent[Intent.CASE_VARIANT] = [
            dataclasses.replace(e, alternates=repeats) if isinstance(e, Exchange) else e
            for e in variants
        ]
        if isinstance(self._baseline, Exchange):
            self._baseline = dataclasses.replace(self._baseline, alternates=tuple(self.others()))

    @property
    def fetched(self) -> bool:
        """Whether the canonical GET got an answer (a failure to fetch is re-raised by the accessors)."""
        return not isinstance(self._baseline, BaseException)

    def others(self) -> list[Exchange]:
        """The other cases of the id that were answered."""
        return [e for e in self._by_intent.get(Intent.CASE_VARIANT, []) if isinstance(e, Exchange)]

    @property
    def found(self) -> bool:
        """Whether the canonical GET, or another case of the id, was answered 200."""
        if not self.fetched:
            return False
        return any(e.response.status == 200 for e in (self.baseline, *self.others()))

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
