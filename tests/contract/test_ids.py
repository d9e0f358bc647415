"""Ids the target does not hold: well-formed ones are 404, malformed ones 4xx."""

from __future__ import annotations

import pytest
from hypothesis import example, given

from jobs_conformance.contract_tests._batches import batched_settings, batches
from jobs_conformance.exchange import Intent
from jobs_conformance.probes import Probe, well_formed
from jobs_conformance.strategies.uuids import (
    EDGE_UUIDS,
    invalid_uuids,
    simplest_invalid_uuids,
    valid_uuids,
)


@pytest.mark.requirement("http.unknown-404")
@batched_settings()
@given(job_ids=batches(valid_uuids()))
# Every fixed id, every run: the edges, and the doc's example, which teams seed.
@example(job_ids=list(EDGE_UUIDS))
def test_unknown_well_formed_ids_are_404(
    conformance_send, conformance_verdicts, conformance_held_ids, job_ids
):
    # Held ids are the known-job plan's; a fixed id (the doc's example) may
    # be held, so it is judged as well-formed only.
    probes = [well_formed(i, conformance_held_ids) for i in job_ids]
    conformance_verdicts.check_all(conformance_send([p for p in probes if p is not None]))


@pytest.mark.requirement("http.malformed-4xx")
@batched_settings()
@given(invalid=batches(invalid_uuids()))
def test_malformed_ids_are_4xx(conformance_send, conformance_verdicts, invalid):
    conformance_verdicts.check_all(
        conformance_send([Probe(i.value, Intent.MALFORMED, label=i.reason) for i in invalid])
    )


# Every class, every run: the simplest value of each (what Hypothesis would
# shrink a failure of that class to).
SIMPLEST_INVALID = simplest_invalid_uuids()


@pytest.mark.requirement("http.malformed-4xx")
def test_every_invalid_class_is_4xx(conformance_send, conformance_verdicts):
    conformance_verdicts.check_all(
        conformance_send(
            [
                Probe(invalid.value, Intent.MALFORMED, label=invalid.reason)
                for invalid in SIMPLEST_INVALID.values()
            ]
        )
    )
