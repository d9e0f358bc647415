"""The contract suite, shipped inside the package as ``jobs_conformance.contract_tests``.

Collected only in a session that loaded the plugin (``pytest -p
jobs_conformance``, ``jobs-conformance run``); the suite's own tests leave
this folder to it.
"""
