"""The contract as data: ``openapi.yaml``, ``requirements.yaml``, the report schema, the corpus.

Shipped inside the package as ``jobs_conformance.spec`` (pyproject's
package-dir mapping), so a regular install and a checkout read the same
files; nothing here is code.
"""
