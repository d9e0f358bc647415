"""Held jobs: each is served conforming, by any case of its id, the same every time; near misses are 4xx."""

from __future__ import annotations

import pytest

from jobs_conformance.exchange import Intent
from jobs_conformance.probes import case_variants, fetch
from strategies.uuids import NEAR_MISS_KINDS, near_miss

BODY = (
    "body.json",
    "body.required",
    "body.types",
    "body.uuid",
    "body.datetime",
    "body.datetime-rfc3339",
    "body.job-config",
    "body.workflow-order",
    "body.timeline",
)


@pytest.mark.requirement("http.status-known", "http.content-type", "http.id-echo", *BODY)
def test_held_job_is_served_conforming(conformance, verdicts, known_id):
    exchange = conformance.baseline(known_id, verdicts)
    if verdicts.failures:
        raise AssertionError("\n".join(verdicts.failures))
    assert exchange.response.status == 200


@pytest.mark.requirement("http.idempotent")
def test_repeated_gets_return_the_same_job(conformance, client, verdicts, known_id):
    first = conformance.baseline(known_id, verdicts)
    verdicts.check_all(fetch(client, known_id, Intent.REPEAT, baseline=first) for _ in range(2))


@pytest.mark.requirement("http.case-insensitive")
def test_other_cases_of_the_id_find_the_same_job(conformance, client, verdicts, known_id):
    variants = case_variants(known_id)
    if not variants:
        pytest.skip(f"{known_id} has no hex letters whose case could change")
    first = conformance.baseline(known_id, verdicts)
    verdicts.check_all(fetch(client, v, Intent.CASE_VARIANT, baseline=first) for v in variants[:2])


@pytest.mark.requirement("http.malformed-4xx")
def test_near_misses_of_a_held_id_are_4xx(client, verdicts, known_id):
    # Lenient parsers (uuid.UUID(), Python's `$`, unanchored matches,
    # strip()) turn these back into the held id; random ids never reach them.
    verdicts.check_all(
        fetch(client, near_miss(known_id, kind), Intent.MALFORMED) for kind in NEAR_MISS_KINDS
    )
