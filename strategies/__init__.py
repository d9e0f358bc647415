"""Hypothesis strategies for the Jobs API contract: UUIDs, timestamps, jobs."""

from __future__ import annotations

from jobs_conformance.strategies._labels import Invalid
from jobs_conformance.strategies.jobs import (
    MUTATION_KINDS,
    Mutation,
    encode_job,
    job_mutations,
    jobs,
)
from jobs_conformance.strategies.timestamps import (
    INVALID_TIMESTAMP_CLASSES,
    invalid_timestamps,
    valid_timestamps,
)
from jobs_conformance.strategies.uuids import (
    INVALID_UUID_CLASSES,
    NEAR_MISS_KINDS,
    invalid_uuids,
    near_misses,
    valid_uuids,
)

__all__ = [
    "INVALID_TIMESTAMP_CLASSES",
    "INVALID_UUID_CLASSES",
    "MUTATION_KINDS",
    "NEAR_MISS_KINDS",
    "Invalid",
    "Mutation",
    "encode_job",
    "invalid_timestamps",
    "invalid_uuids",
    "job_mutations",
    "jobs",
    "near_misses",
    "valid_timestamps",
    "valid_uuids",
]
