"""strategies.jobs: conforming jobs have no violation; each mutation breaks exactly what its label says."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jobs_conformance.oracle import judge_body
from jobs_conformance.strategies.jobs import (
    JOB_FIELDS,
    MUTATION_KINDS,
    encode_job,
    job_mutations,
    jobs,
)


@given(jobs())
def test_conforming_jobs_have_no_violation(job):
    assert list(job) == list(JOB_FIELDS)
    judgement = judge_body(encode_job(job), "application/json")
    assert judgement.violations == () and judgement.crashes == ()


@given(jobs(allow_missing_seconds=True))
def test_missing_seconds_only_ever_breaks_the_should_level_rfc3339_rule(job):
    judgement = judge_body(encode_job(job), "application/json")
    assert {v.requirement for v in judgement.violations} <= {"body.datetime-rfc3339"}


@pytest.mark.parametrize("kind", MUTATION_KINDS)
@given(data=st.data())
def test_each_mutation_breaks_exactly_its_labelled_requirements(kind, data):
    mutation = data.draw(job_mutations(kinds=(kind,)))
    judgement = judge_body(mutation.body, "application/json")
    assert judgement.crashes == ()
    # What the value breaks: each finding's requirement, and what it also affects.
    broken = {r for v in judgement.violations for r in (v.requirement, *v.also_affects)}
    assert broken == mutation.violates


@pytest.mark.parametrize(
    "call",
    [
        lambda: jobs(allow_missing_seconds="no"),
        lambda: job_mutations(kinds=("nope",)),
        lambda: job_mutations(kinds=()),
    ],
)
def test_job_strategies_reject_bad_arguments(call):
    with pytest.raises(InvalidArgument):
        call().example()
