"""The fault catalogue: every fault is a real, observable violation of its labelled requirements;
every conforming variant shows none."""

from __future__ import annotations

import pytest

from jobs_conformance.contract import load_contract
from jobs_conformance.exchange import Intent
from jobs_conformance.oracle import judge
from jobs_conformance.probes import (
    alter_credentials,
    case_variants,
    fetch,
    fetch_known,
    in_seed_namespace,
    seed_and_fetch,
    without_credentials,
)
from jobs_conformance.reference.corpus import pinned_jobs
from jobs_conformance.reference.faults import FAULTS, VARIANTS
from jobs_conformance.reference.server import ReferenceServer
from jobs_conformance.strategies.uuids import NEAR_MISS_KINDS, NIL_UUID, near_miss

API_KEY = "fault-test-key-0123"


def _observe(server: ReferenceServer, client, headers) -> set[str]:
    """Probe every intent once over HTTP and return the requirements the oracle saw broken."""
    seen: set[str] = set()

    def note(exchange):
        judgement = judge(exchange)
        assert judgement.crashes == ()
        seen.update(v.requirement for v in judgement.violations)

    ids = server.job_ids()
    for job_id in ids:
        known = fetch_known(client, job_id)
        note(known)
        note(fetch(client, job_id, Intent.REPEAT, baseline=known))
        for variant in case_variants(job_id)[:1]:
            note(fetch(client, variant, Intent.CASE_VARIANT, baseline=known))
    held = {i.lower() for i in ids}
    for version in "12345678":
        unknown = f"0000000{version}-0000-{version}000-8000-00000000000{version}"
        assert unknown not in held
        note(fetch(client, unknown, Intent.UNKNOWN))
    note(fetch(client, NIL_UUID, Intent.UNKNOWN))
    for kind in NEAR_MISS_KINDS:
        note(fetch(client, near_miss(ids[0], kind), Intent.MALFORMED))
    note(fetch(client, "not-a-uuid", Intent.MALFORMED))
    if headers:
        for changed in (without_credentials(headers), alter_credentials(headers)):
            note(fetch(client, ids[0], Intent.UNAUTHENTICATED, headers=changed))
    if server.app.allow_seeding:
        for number, job in enumerate(pinned_jobs()[:4]):
            fresh = {**job, "id": in_seed_namespace(f"00000000-0000-4000-8000-{number:012d}")}
            note(seed_and_fetch(client, server.base_url + "/__seed/jobs", fresh))
    return seen


def _run(behaviour, client_for) -> set[str]:
    needs = behaviour.needs
    key = API_KEY if "credentials" in needs else None
    faults = [behaviour.name] if behaviour.name in FAULTS else []
    variants = [behaviour.name] if behaviour.name in VARIANTS else []
    with ReferenceServer(
        faults=faults, variants=variants, api_key=key, allow_seeding="seeding" in needs
    ) as server:
        headers = {"X-Api-Key": key} if key else {}
        return _observe(server, client_for(server.base_url, headers=headers), headers)


def test_catalogue_has_thirty_faults_covering_every_requirement():
    assert len(FAULTS) >= 30
    covered = set().union(*(fault.requirements for fault in FAULTS.values()))
    assert covered == {r.id for r in load_contract().requirements}
    assert all(fault.summary and fault.requirements for fault in FAULTS.values())


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_observed_as_its_labelled_violation(name, client_for):
    fault = FAULTS[name]
    observed = _run(fault, client_for)
    assert fault.requirements <= observed, (
        f"{name}: expected {sorted(fault.requirements)}, saw {sorted(observed)}"
    )


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_conforming_variant_shows_no_violation(name, client_for):
    assert _run(VARIANTS[name], client_for) == set()


def test_the_conforming_server_shows_no_violation_with_auth_and_seeding(client_for):
    with ReferenceServer(api_key=API_KEY, allow_seeding=True) as server:
        headers = {"X-Api-Key": API_KEY}
        assert _observe(server, client_for(server.base_url, headers=headers), headers) == set()
