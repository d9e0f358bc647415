"""``python -m jobs_conformance``: the ``jobs-conformance`` command."""

from jobs_conformance.cli import console_main

console_main()
