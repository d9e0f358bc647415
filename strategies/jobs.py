"""Hypothesis strategies for Job documents: conforming ones and single-fault mutations.

A conforming job satisfies every body-level requirement of the catalogue. A
mutation breaks exactly one aspect of a conforming job and is labelled with
the requirement ids that break necessarily implies (usually one; an invalid
timestamp that RFC 3339 also rejects breaks two).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from jobs_conformance.strategies.timestamps import (
    drop_seconds,
    invalid_timestamps,
    timestamp_sort_key,
    valid_timestamps,
)
from jobs_conformance.strategies.uuids import invalid_uuids, valid_uuids

__all__ = [
    "JOB_FIELDS",
    "MUTATION_KINDS",
    "Mutation",
    "encode_job",
    "job_mutations",
    "jobs",
]

# The doc's "Response" section, in its order.
JOB_FIELDS = (
    "id",
    "name",
    "createdAt",
    "updatedAt",
    "organizationId",
    "sourceProvider",
    "createdByUserId",
    "updatedByUserId",
    "jobConfigJson",
)
_UUID_FIELDS = ("id", "organizationId", "createdByUserId", "updatedByUserId")
_TIMESTAMP_FIELDS = ("createdAt", "updatedAt")
_STRING_FIELDS = ("id", "name", "organizationId", "sourceProvider", "createdByUserId")

# Names: empty, ASCII, and non-ASCII (combining marks, CJK, emoji, RTL), which
# servers mangle when they mis-declare or mis-encode their charset.
_EDGE_NAMES = ("", "nightly-build", "Zoë's naïve café", "数据同步", "🚀 deploy", "שלום", "a\u0301")

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
# Two levels are enough to show a server passes unknown members through; a
# recursive strategy costs more to draw than the requests it feeds.
_json_values = (
    _json_scalars
    | st.lists(_json_scalars, max_size=3)
    | st.dictionaries(st.text(max_size=8), _json_scalars, max_size=3)
)


def encode_job(job: Any) -> bytes:
    """A job as the UTF-8 JSON body a conforming server sends."""
    return json.dumps(job, ensure_ascii=False).encode("utf-8")


@st.composite
def _timeline(draw: st.DrawFn, timestamps: st.SearchStrategy[str]) -> tuple[str | None, str | None]:
    created = draw(st.none() | timestamps)
    updated = draw(st.none() | timestamps)
    if (
        created is not None
        and updated is not None
        and timestamp_sort_key(updated) < timestamp_sort_key(created)
    ):
        created, updated = updated, created
    return created, updated


@st.composite
def _job_config(draw: st.DrawFn) -> dict[str, Any]:
    config: dict[str, Any] = draw(
        st.dictionaries(
            st.text(max_size=12).filter(lambda k: k != "workflowExecutionOrder"),
            _json_values,
            max_size=3,
        )
    )
    if draw(st.booleans()):
        config["workflowExecutionOrder"] = draw(st.lists(valid_uuids(), max_size=5))
    return config


def jobs(
    *, allow_missing_seconds: bool = False, max_fraction_digits: int = 12
) -> st.SearchStrategy[dict[str, Any]]:
    """Job documents that satisfy every body-level requirement.

    UUIDs come from :func:`~strategies.uuids.valid_uuids` (every version,
    variant and case, nil), timestamps from
    :func:`~strategies.timestamps.valid_timestamps` ordered so updatedAt is not
    before createdAt; createdAt, updatedAt and updatedByUserId are null one
    time in two. Names favour empty and non-ASCII strings. With
    ``allow_missing_seconds`` timestamps may lack seconds: the pattern allows
    that, the should-level ``body.datetime-rfc3339`` does not. Shrinks toward
    a job with null timestamps, all-zero v1 UUIDs and empty strings.
    """
    if not isinstance(allow_missing_seconds, bool):
        raise InvalidArgument(f"allow_missing_seconds={allow_missing_seconds!r} must be a bool")
    timestamps = valid_timestamps(
        allow_missing_seconds=allow_missing_seconds, max_fraction_digits=max_fraction_digits
    )

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        created, updated = draw(_timeline(timestamps))
        return {
            "id": draw(valid_uuids()),
            "name": draw(st.text() | st.sampled_from(_EDGE_NAMES)),
            "createdAt": created,
            "updatedAt": updated,
            "organizationId": draw(valid_uuids()),
            "sourceProvider": draw(
                st.text(max_size=20) | st.sampled_from(("github", "gitlab", ""))
            ),
            "createdByUserId": draw(valid_uuids()),
            "updatedByUserId": draw(st.none() | valid_uuids()),
            "jobConfigJson": draw(_job_config()),
        }

    return build()


class Mutation(NamedTuple):
    """A body that breaks a conforming job in one way, and what that breaks."""

    body: bytes
    kind: str
    violates: frozenset[str]


_Mutator = Callable[[st.DrawFn, dict[str, Any]], tuple[bytes, frozenset[str]]]
_MUTATORS: dict[str, _Mutator] = {}


def _mutation(
    kind: str, *violates: str
) -> Callable[[Callable[[st.DrawFn, dict[str, Any]], Any]], None]:
    # A mutator returns a changed job (encoded here) or the body bytes itself;
    # its label is fixed at registration unless it returns (body, labels).
    def register(function: Callable[[st.DrawFn, dict[str, Any]], Any]) -> None:
        def mutate(draw: st.DrawFn, job: dict[str, Any]) -> tuple[bytes, frozenset[str]]:
            result = function(draw, job)
            if isinstance(result, tuple):
                return result
            return (result if isinstance(result, bytes) else encode_job(result)), frozenset(
                violates
            )

        _MUTATORS[kind] = mutate

    return register


@_mutation("nan-literal", "body.json")
def _nan(draw: st.DrawFn, job: dict[str, Any]) -> bytes:
    constant = draw(st.sampled_from(("NaN", "Infinity", "-Infinity")))
    return encode_job({**job, "name": 0}).replace(b'"name": 0', b'"name": ' + constant.encode())


@_mutation("byte-order-mark", "body.json")
def _bom(draw: st.DrawFn, job: dict[str, Any]) -> bytes:
    return b"\xef\xbb\xbf" + encode_job(job)


@_mutation("duplicate-member", "body.json")
def _duplicate(draw: st.DrawFn, job: dict[str, Any]) -> bytes:
    return b'{"name": "shadowed", ' + encode_job(job)[1:]


@_mutation("invalid-utf8", "body.json")
def _invalid_utf8(draw: st.DrawFn, job: dict[str, Any]) -> bytes:
    bad = draw(st.sampled_from((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82")))
    return encode_job({**job, "name": "MARK"}).replace(b"MARK", bad)


@_mutation("top-level-array", "body.json")
def _array(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    return [job]


@_mutation("cut-off", "body.json")
def _cut(draw: st.DrawFn, job: dict[str, Any]) -> bytes:
    body = encode_job(job)
    return body[: draw(st.integers(0, len(body) - 1))]


@_mutation("envelope", "body.required")
def _envelope(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    return {"data": job}


@_mutation("missing-field", "body.required")
def _missing(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    name = draw(st.sampled_from(JOB_FIELDS))
    return {k: v for k, v in job.items() if k != name}


@_mutation("null-omitted", "body.required")
def _null_omitted(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    name = draw(st.sampled_from(("createdAt", "updatedAt", "updatedByUserId")))
    return {k: v for k, v in job.items() if k != name}


@_mutation("wrong-type", "body.types")
def _wrong_type(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    name = draw(st.sampled_from(JOB_FIELDS[:-1]))
    nullable = name in ("createdAt", "updatedAt", "updatedByUserId")
    others: list[Any] = [42, 1.5, True, ["x"], {"x": 1}] + ([] if nullable else [None])
    return {**job, name: draw(st.sampled_from(others))}


@_mutation("invalid-uuid", "body.uuid")
def _invalid_uuid(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    return {**job, draw(st.sampled_from(_UUID_FIELDS)): draw(invalid_uuids()).value}


@_mutation("invalid-timestamp")
def _invalid_timestamp(draw: st.DrawFn, job: dict[str, Any]) -> tuple[bytes, frozenset[str]]:
    bad = draw(invalid_timestamps())
    return encode_job({**job, draw(st.sampled_from(_TIMESTAMP_FIELDS)): bad.value}), bad.violates


@_mutation("missing-seconds", "body.datetime-rfc3339")
def _missing_seconds(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    # Dropping seconds moves createdAt earlier, so the timeline still holds
    # provided updatedAt is not before the original value.
    full = draw(valid_timestamps(allow_missing_seconds=False))
    updated = job["updatedAt"]
    if updated is None or timestamp_sort_key(updated) < timestamp_sort_key(full):
        updated = full
    return {**job, "createdAt": drop_seconds(full), "updatedAt": updated}


@_mutation("config-not-object", "body.job-config")
def _config(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    config = job["jobConfigJson"]
    return {**job, "jobConfigJson": draw(st.sampled_from((json.dumps(config), None, [config], 0)))}


@_mutation("order-not-array", "body.workflow-order")
def _order_scalar(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    order = draw(st.sampled_from(("3c90c3cc-0d44-4b50-8888-8dd25736052a", None, {}, 7)))
    return {**job, "jobConfigJson": {**job["jobConfigJson"], "workflowExecutionOrder": order}}


@_mutation("order-bad-item", "body.workflow-order")
def _order_item(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    bad = draw(st.sampled_from((42, None, ["x"])) | invalid_uuids().map(lambda i: i.value))
    order = [*job["jobConfigJson"].get("workflowExecutionOrder", []), bad]
    return {**job, "jobConfigJson": {**job["jobConfigJson"], "workflowExecutionOrder": order}}


@_mutation("timeline-reversed", "body.timeline")
def _reversed(draw: st.DrawFn, job: dict[str, Any]) -> Any:
    stamps = valid_timestamps(allow_missing_seconds=False)
    first, second = draw(st.lists(stamps, min_size=2, max_size=2, unique_by=timestamp_sort_key))
    early, late = sorted((first, second), key=timestamp_sort_key)
    return {**job, "createdAt": late, "updatedAt": early}


MUTATION_KINDS: tuple[str, ...] = tuple(_MUTATORS)


def job_mutations(*, kinds: tuple[str, ...] | None = None) -> st.SearchStrategy[Mutation]:
    """Bodies that break a conforming job in exactly one way, labelled.

    ``kinds`` limits the draw to names from :data:`MUTATION_KINDS`, every kind
    equally likely; the job mutated comes from :func:`jobs`. Shrinks toward
    the first kind applied to the simplest job.
    """
    chosen = MUTATION_KINDS if kinds is None else tuple(kinds)
    unknown = [k for k in chosen if k not in _MUTATORS]
    if not chosen or unknown:
        raise InvalidArgument(
            f"kinds={kinds!r}: unknown {unknown}; choose from {list(MUTATION_KINDS)}"
        )

    @st.composite
    def build(draw: st.DrawFn) -> Mutation:
        kind = draw(st.sampled_from(chosen))
        body, violates = _MUTATORS[kind](draw, draw(jobs()))
        return Mutation(body, kind, violates)

    return build()
