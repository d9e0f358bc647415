"""The known-job plan: which held jobs get comparison probes, and what those probes are."""

from __future__ import annotations

import pytest

from jobs_conformance.exchange import Exchange, HttpResponse, Intent
from jobs_conformance.plan import (
    CASE_VARIANTS,
    NEAR_MISS_JOBS,
    PROBED_JOBS,
    REPEATS,
    KnownProbes,
    comparison_probes,
    near_miss_parsers,
    near_miss_probes,
    sampled_jobs,
)
from jobs_conformance.strategies.uuids import NEAR_MISS_KINDS, near_miss

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


def test_comparison_probes_are_repeats_and_other_cases():
    job_id = LETTERED[0]
    baseline = _exchange(job_id)
    probes = comparison_probes(job_id, baseline)
    by_intent: dict[Intent, list] = {}
    for probe in probes:
        by_intent.setdefault(probe.intent, []).append(probe)
    assert set(by_intent) == {Intent.REPEAT, Intent.CASE_VARIANT}
    assert len(by_intent[Intent.REPEAT]) == REPEATS
    assert all(p.raw_id == job_id and p.baseline is baseline for p in by_intent[Intent.REPEAT])
    variants = by_intent[Intent.CASE_VARIANT]
    assert 0 < len(variants) <= CASE_VARIANTS
    assert all(p.raw_id != job_id and p.raw_id.lower() == job_id for p in variants)
    assert all(p.about == job_id for p in probes)


def test_every_near_miss_form_is_sent_for_a_few_jobs_labelled_with_its_parsers():
    # The doc's example has a group starting with 0 (0d44): every form applies.
    ids = [*LETTERED[:5], "3c90c3cc-0d44-4b50-8888-8dd25736052a"]
    probes = near_miss_probes(ids)
    assert {p.label for p in probes} == set(NEAR_MISS_KINDS)
    assert all(p.intent is Intent.MALFORMED for p in probes)
    assert {p.about for p in probes} <= set(ids)
    assert len({p.about for p in probes}) <= NEAR_MISS_JOBS + 1
    parsers = near_miss_parsers()
    for probe in probes:
        assert probe.raw_id == near_miss(str(probe.about), probe.label)
        assert all(name in probe.detail for name in parsers[probe.label])


def test_a_form_that_applies_to_no_sampled_job_is_sent_for_one_it_applies_to():
    # Only the last id has a group that starts with 0 (what a Java short group needs).
    ids = [*(f"1111111{n}-1111-4111-8111-11111111111{n}" for n in range(4)), DIGITS[0]]
    shorts = [p for p in near_miss_probes(ids) if p.label == "java-short-group"]
    assert [p.about for p in shorts] == [DIGITS[0]]
    assert near_miss_probes([]) == []


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


def test_a_job_found_in_another_case_only_is_found_and_its_answer_knows_the_cases_tried():
    missing = Exchange(HttpResponse(404), Intent.KNOWN, job_id=LETTERED[0])
    probes = KnownProbes(missing)
    assert not probes.found
    upper = Exchange(HttpResponse(200), Intent.CASE_VARIANT, job_id=LETTERED[0].upper())
    repeat = Exchange(HttpResponse(404), Intent.REPEAT, job_id=LETTERED[0])
    probes.add(Intent.CASE_VARIANT, upper)
    probes.add(Intent.REPEAT, repeat)
    assert probes.found and probes.others() == [upper]
    probes.with_alternates()
    (variant,) = probes.of(Intent.CASE_VARIANT)
    assert variant.job_id == upper.job_id and variant.alternates == (repeat,)
    assert probes.baseline.alternates == (variant,)
