"""The known-job plan: which held jobs get comparison probes, and what those probes are."""

from __future__ import annotations

import pytest

from jobs_conformance.exchange import Exchange, HttpResponse, Intent
from jobs_conformance.plan import (
    CASE_VARIANTS,
    PROBED_JOBS,
    REPEATS,
    KnownProbes,
    comparison_probes,
    sampled_jobs,
)
from jobs_conformance.strategies.uuids import NEAR_MISS_KINDS

DIGITS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(20)]
LETTERED = [f"0000000a-0000-4000-8000-{n:012d}" for n in range(20)]


def _exchange(job_id: str, intent: Intent = Intent.KNOWN) -> Exchange:
    return Exchange(HttpResponse(200), intent, job_id=job_id)


def test_a_few_ids_are_all_sampled():
    assert sampled_jobs(DIGITS[:3]) == DIGITS[:3]


def test_many_ids_are_sampled_evenly_preferring_hex_letters():
    mixed = [*DIGITS, *LETTERED[:PROBED_JOBS]]
    assert sampled_jobs(mixed) == LETTERED[:PROBED_JOBS]
    spread = sampled_jobs(DIGITS)
    assert len(spread) == PROBED_JOBS and len(set(spread)) == PROBED_JOBS
    assert spread[0] == DIGITS[0] and spread[-1] in DIGITS[-3:]


def test_too_few_lettered_ids_fall_back_to_all_ids():
    ids = [*DIGITS, LETTERED[0]]
    assert len(sampled_jobs(ids)) == PROBED_JOBS
    assert set(sampled_jobs(ids)) <= set(ids)


def test_comparison_probes_are_repeats_case_variants_and_near_misses():
    job_id = LETTERED[0]
    baseline = _exchange(job_id)
    probes = comparison_probes(job_id, baseline)
    by_intent: dict[Intent, list] = {}
    for probe in probes:
        by_intent.setdefault(probe.intent, []).append(probe)
    assert len(by_intent[Intent.REPEAT]) == REPEATS
    assert all(p.raw_id == job_id and p.baseline is baseline for p in by_intent[Intent.REPEAT])
    variants = by_intent[Intent.CASE_VARIANT]
    assert 0 < len(variants) <= CASE_VARIANTS
    assert all(p.raw_id != job_id and p.raw_id.lower() == job_id for p in variants)
    misses = by_intent[Intent.MALFORMED]
    assert len(misses) == len(NEAR_MISS_KINDS) and all(
        job_id in p.raw_id.lower() or job_id.replace("-", "") in p.raw_id.lower() for p in misses
    )


def test_known_probes_hand_out_exchanges_by_intent():
    baseline = _exchange(LETTERED[0])
    probes = KnownProbes(baseline)
    repeat = _exchange(LETTERED[0], Intent.REPEAT)
    probes.add(Intent.REPEAT, repeat)
    assert probes.fetched and probes.baseline is baseline
    assert probes.of(Intent.REPEAT) == [repeat] and probes.of(Intent.CASE_VARIANT) == []


def test_a_failed_fetch_fails_every_test_of_the_job():
    failed = KnownProbes(TimeoutError("canonical GET"))
    assert not failed.fetched
    with pytest.raises(TimeoutError):
        failed.of(Intent.REPEAT)
    ok = KnownProbes(_exchange(LETTERED[0]))
    ok.add(Intent.CASE_VARIANT, ConnectionResetError("variant"))
    with pytest.raises(ConnectionResetError):
        ok.of(Intent.CASE_VARIANT)
    assert ok.of(Intent.REPEAT) == []
