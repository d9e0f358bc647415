"""With credentials configured, requests without them, or with altered ones, are refused."""

from __future__ import annotations

import pytest

from jobs_conformance.exchange import Intent
from jobs_conformance.probes import alter_credentials, fetch, without_credentials


@pytest.mark.requirement("auth.required")
@pytest.mark.parametrize("change", ["removed", "altered"])
def test_requests_without_valid_credentials_are_refused(
    conformance, client, verdicts, credentials, change
):
    headers = (
        without_credentials(credentials) if change == "removed" else alter_credentials(credentials)
    )
    # A held job if there is one: its data is what must not leak.
    job_id = (
        conformance.known_ids[0]
        if conformance.known_ids
        else "5eed0000-0000-4000-8000-00000000a0a0"
    )
    verdicts.check(fetch(client, job_id, Intent.UNAUTHENTICATED, headers=headers))
