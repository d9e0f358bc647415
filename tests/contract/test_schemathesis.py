"""Schema-driven requests from schemathesis over spec/openapi.yaml, judged by the project's oracle.

schemathesis draws the path parameter from the spec, positive and negative;
its `format: uuid` generator is replaced by the project's strategy, so
versions 6-8, upper case and the nil UUID are sent too. The intent of each
request follows from the value itself: held, unknown but well-formed, or
malformed under the ECMA-262 pattern.

Collected only with ``--schemathesis``, or the ``thorough`` profile where
schemathesis is installed (the plugin's ``pytest_ignore_collect``): a
gate's run is the targeted tests.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import given
from schemathesis import GenerationMode

from jobs_conformance.contract import default_spec_dir, load_contract
from jobs_conformance.contract_tests._batches import batched_settings, batches
from jobs_conformance.exchange import Intent
from jobs_conformance.probes import Probe, well_formed
from jobs_conformance.strategies.uuids import valid_uuids

schemathesis.openapi.format("uuid", valid_uuids())
OPERATION = schemathesis.openapi.from_path(str(default_spec_dir() / "openapi.yaml"))[
    "/jobs/{jobId}"
]["GET"]
PATTERN = load_contract().path_pattern


def _probe(job_id: str, held_ids: frozenset[str]) -> Probe | None:
    # Held ids, in any case, are the known-job plan's, judged with their
    # other forms: the same verdicts under every profile.
    if not PATTERN.search(job_id):
        return Probe(job_id, Intent.MALFORMED)  # its class: why the pattern refuses it
    return well_formed(job_id, held_ids)


def _probes(job_ids: list[str], held_ids: frozenset[str]) -> list[Probe]:
    return [p for p in (_probe(i, held_ids) for i in job_ids) if p is not None]


@pytest.mark.requirement("http.unknown-404")
@batched_settings(share=0.5)
@given(cases=batches(OPERATION.as_strategy(generation_mode=GenerationMode.POSITIVE)))
def test_schema_positive(conformance_send, conformance_verdicts, conformance_held_ids, cases):
    job_ids = [c.path_parameters["jobId"] for c in cases]
    conformance_verdicts.check_all(conformance_send(_probes(job_ids, conformance_held_ids)))


@pytest.mark.requirement("http.malformed-4xx", "http.unknown-404")
@batched_settings(share=0.3)
@given(cases=batches(OPERATION.as_strategy(generation_mode=GenerationMode.NEGATIVE)))
def test_schema_negative(conformance_send, conformance_verdicts, conformance_held_ids, cases):
    # schemathesis hands negative path values over already percent-encoded.
    job_ids = [unquote(str(c.path_parameters["jobId"])) for c in cases]
    conformance_verdicts.check_all(conformance_send(_probes(job_ids, conformance_held_ids)))
