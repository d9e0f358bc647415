"""With a credential header declared (--auth-header), requests without it, or with it altered, are refused.

Opt-in: the doc page documents no authentication, so only the user can say
which header the target requires.
"""

from __future__ import annotations

import pytest

from jobs_conformance.exchange import Intent
from jobs_conformance.probes import Probe, alter_credentials, in_seed_namespace, without_credentials


@pytest.mark.requirement("auth.required")
def test_requests_without_valid_credentials_are_refused(
    conformance, conformance_send, conformance_verdicts, conformance_credentials
):
    # A held job if there is one: its data is what must not leak.
    job_id = (
        conformance.known_ids[0]
        if conformance.known_ids
        else in_seed_namespace("00000000-0000-4000-8000-00000000a0a0")
    )
    names = conformance.auth_headers
    conformance_verdicts.check_all(
        conformance_send(
            [
                Probe(
                    job_id,
                    Intent.UNAUTHENTICATED,
                    headers=changed(conformance_credentials, names),
                    label=label + ", ".join(names),
                )
                for label, changed in (
                    ("without ", without_credentials),
                    ("with an altered ", alter_credentials),
                )
            ]
        )
    )
