"""The seed corpus: deterministic, committed, and covering the edge cases it promises."""

from __future__ import annotations

import subprocess
import sys

from jobs_conformance.instants import instant_of
from jobs_conformance.reference.corpus import corpus_path, load_corpus
from jobs_conformance.strategies.uuids import NIL_UUID


def test_committed_corpus_equals_the_generator():
    # The generator runs in its own process: see the corpus module's docstring.
    generated = subprocess.run(
        [sys.executable, "-m", "jobs_conformance.reference.corpus"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode("utf-8")
    assert corpus_path().read_text(encoding="utf-8") == generated, (
        "spec/examples/jobs.json is stale: run python -m jobs_conformance.reference.corpus --write"
    )


def test_corpus_covers_the_promised_edge_cases():
    corpus = load_corpus()
    assert len(corpus) >= 50
    ids = [job["id"] for job in corpus]
    assert len({i.lower() for i in ids}) == len(ids)
    assert {i[14] for i in ids} >= set("12345678")
    stamps = [job[k] for job in corpus for k in ("createdAt", "updatedAt") if job[k] is not None]
    for leap in ("0000-02-29", "2000-02-29", "2024-02-29", "2028-02-29", "2400-02-29"):
        assert any(s.startswith(leap) for s in stamps), leap
    assert any(s.startswith(("1900-02-28", "1900-03-01")) for s in stamps)
    assert any(s.startswith(("2100-02-28", "2100-03-01")) for s in stamps)
    fraction_digits = {len(s[20:-1]) if s[19:20] == "." else 0 for s in stamps if len(s) > 17}
    assert set(range(13)) <= fraction_digits
    assert any(len(s) == 17 for s in stamps), "a timestamp without seconds"
    assert any(job["createdAt"] is None for job in corpus) and any(
        job["updatedByUserId"] is None for job in corpus
    )
    assert any(NIL_UUID in (job["organizationId"], job["updatedByUserId"]) for job in corpus)
    assert any(job["name"] == "" for job in corpus) and any(
        not job["name"].isascii() for job in corpus
    )
    configs = [job["jobConfigJson"] for job in corpus]
    assert any(c.get("workflowExecutionOrder") == [] for c in configs)
    assert any("workflowExecutionOrder" not in c for c in configs)
    assert any(set(c) - {"workflowExecutionOrder"} for c in configs)
    assert all(instant_of(s) is not None for s in stamps)
