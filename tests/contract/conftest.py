"""The contract tests' fixtures, defined in :mod:`jobs_conformance.fixtures`.

Every name carries the ``conformance`` prefix: pytest scopes a conftest's
fixtures to its folder only inside the rootdir, and an installed suite sits
outside it, so these are visible to a project's own tests in the same
session, and must not take a name (``client``, say) that those tests or
another plugin use.
"""

from jobs_conformance.fixtures import (  # noqa: F401
    conformance,
    conformance_client,
    conformance_credentials,
    conformance_held_ids,
    conformance_in_parallel,
    conformance_known,
    conformance_seed_url,
    conformance_send,
    conformance_verdicts,
)
