"""The contract tests' fixtures, scoped to this folder.

They are defined in :mod:`jobs_conformance.fixtures` and brought in here,
not registered by the plugin: in a session that runs a project's own tests
beside the contract suite, names like ``client`` stay that project's.
"""

from jobs_conformance.fixtures import (  # noqa: F401
    client,
    conformance,
    credentials,
    held_ids,
    in_parallel,
    known,
    send,
    verdicts,
)
from jobs_conformance.fixtures import seed_url as seed_url
