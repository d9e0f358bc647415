"""Held jobs: each is served conforming, by any case of its id, the same every time; near misses are 4xx.

The requests are planned (jobs_conformance.plan) and sent concurrently once;
each test judges every job's share, so a failure lists every job it concerns.
"""

from __future__ import annotations

import pytest

from jobs_conformance.contract import load_contract
from jobs_conformance.exchange import Intent

# Every body-level requirement of the catalogue: a held job's body is judged by all.
BODY = tuple(r.id for r in load_contract().requirements if r.id.startswith("body."))


@pytest.mark.requirement("http.status-known", "http.content-type", "http.id-echo", *BODY)
def test_held_jobs_are_served_conforming(conformance_known, conformance_verdicts):
    conformance_verdicts.check_all(probes.baseline for probes in conformance_known.values())


@pytest.mark.requirement("http.idempotent")
def test_repeated_gets_return_the_same_job(conformance_known, conformance_verdicts):
    conformance_verdicts.check_all(
        e for probes in conformance_known.values() for e in probes.of(Intent.REPEAT)
    )


@pytest.mark.requirement("http.case-insensitive")
def test_other_cases_of_the_id_find_the_same_job(conformance_known, conformance_verdicts):
    variants = [e for probes in conformance_known.values() for e in probes.of(Intent.CASE_VARIANT)]
    if not variants:
        pytest.skip("no known id has hex letters whose case could change")
    conformance_verdicts.check_all(variants)


@pytest.mark.requirement("http.malformed-4xx")
def test_near_misses_of_held_ids_are_4xx(conformance_known, conformance_verdicts):
    conformance_verdicts.check_all(
        e for probes in conformance_known.values() for e in probes.of(Intent.MALFORMED)
    )
