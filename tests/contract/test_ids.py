"""Ids the target does not hold: well-formed ones are 404, malformed ones 4xx."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from jobs_conformance.exchange import Intent
from jobs_conformance.probes import fetch
from strategies.uuids import EDGE_UUIDS, INVALID_UUID_CLASSES, NIL_UUID, invalid_uuids, valid_uuids

# Every invalid class is sent a few times even in the smallest profile.
_PER_CLASS = max(2, settings.default.max_examples // 20)


@pytest.mark.requirement("http.unknown-404")
@given(job_id=valid_uuids())
@example(job_id=NIL_UUID)
@example(job_id=EDGE_UUIDS[2])
@example(job_id=EDGE_UUIDS[3])
def test_unknown_well_formed_ids_are_404(client, verdicts, held_ids, job_id):
    assume(job_id.lower() not in held_ids and not job_id.lower().startswith("5eed"))
    verdicts.check(fetch(client, job_id, Intent.UNKNOWN))


@pytest.mark.requirement("http.malformed-4xx")
@given(invalid=invalid_uuids())
def test_malformed_ids_are_4xx(client, verdicts, invalid):
    verdicts.check(fetch(client, invalid.value, Intent.MALFORMED))


@pytest.mark.requirement("http.malformed-4xx")
@pytest.mark.parametrize("name", INVALID_UUID_CLASSES)
@settings(max_examples=_PER_CLASS)
@given(data=st.data())
def test_every_invalid_class_is_4xx(client, verdicts, name, data):
    invalid = data.draw(invalid_uuids(classes=[name]))
    verdicts.check(fetch(client, invalid.value, Intent.MALFORMED))
