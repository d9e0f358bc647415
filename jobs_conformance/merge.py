"""Partial reports merged: ``jobs-conformance report --merge A.json B.json ...``.

A record of ``observe`` or ``audit`` carries, beside what it shows, the
results it was built from (``partial``: the per-requirement counts and
failing classes, and what the command adds: observed coverage, audit
samples). Merging adds those up and builds the report again with the very
function the command used, so the merge of the shards of one input is the
report of one process over all of it: the same rows, findings, counts,
examples and verdict (its time, duration and request count are the sums of
the parts'). Every step is commutative and associative (sums, unions, the
simplest example by a total order, the smallest sample ids), so the order
of the parts and how they are grouped do not matter.

A part is a set of (source, shard) pairs: two parts that judged the same
shard of the same input would count it twice, and are refused.
"""

from __future__ import annotations

import datetime
import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from jobs_conformance.errors import UsageError, error_order
from jobs_conformance.redact import Redactor
from jobs_conformance.results import Results
from jobs_conformance.shards import Shard

__all__ = [
    "KINDS",
    "Meta",
    "input_name",
    "judged",
    "merge_records",
    "partial_of",
    "parts_of",
    "record_of",
]


@dataclass(frozen=True)
class Meta:
    """What a report says of how it was made, beside its results."""

    target: str
    started: datetime.datetime
    duration_s: float
    requests_sent: int = 0
    strict: bool = False
    # The gate's settings (gate.policy_of): waivers and baseline, applied to the findings.
    policy: Mapping[str, Any] | None = None


def input_name(source: str) -> str:
    """How a part names an input given as ``source``: ``-`` (stdin) as it is, a path without
    single dots and doubled separators (``./t.ndjson`` is ``t.ndjson``), so parts whose
    command lines spell one input so merge. ``..`` stays: through a symlink it leads
    elsewhere than the folder it seems to. A file named ``-`` stays ``./-``: its name is
    also opened, and ``-`` would read stdin."""
    if source == "-":
        return source
    name = str(PurePath(source))
    return "./-" if name == "-" else name


def parts_of(sources: Sequence[str], shard: Shard) -> list[str]:
    """What one process judged: its shard of each source, as ``K/N|name`` (:func:`input_name`)."""
    return sorted({f"{shard}|{input_name(source)}" for source in sources})


def partial_of(
    kind: str, results: Results, extra: Mapping[str, Any], parts: Sequence[str]
) -> dict[str, Any]:
    """The ``partial`` member of a record: what a merge needs to build the report again.

    ``results`` must be final: its errors are sorted here, as a merge sorts them.
    """
    results.errors.sort(key=error_order)
    return {
        "kind": kind,
        "parts": sorted(parts),
        "results": results.to_data(),
        "extra": dict(extra),
    }


def record_of(
    kind: str,
    results: Results,
    extra: Mapping[str, Any],
    meta: Meta,
    *,
    parts: Sequence[str],
    seed: str,
    known_jobs: int,
    notes: Sequence[str],
    interrupted: bool = False,
    redactor: Redactor | None = None,
    missing: Sequence[str] = (),
) -> dict[str, Any]:
    """A mergeable command's record (observe's, audit's): the report of ``results`` as
    ``meta`` says it was made, with the partial results a merge builds on. ``missing``:
    the shards of the inputs no part judged (:func:`merge_records`), which leave the
    record without a verdict, whatever it found."""
    from jobs_conformance import __version__
    from jobs_conformance.contract import load_contract
    from jobs_conformance.gate import Gate
    from jobs_conformance.report import build_report

    redactor = redactor or Redactor()
    contract = load_contract()
    # First: it sorts the errors, as a merge sorts them, so both reports list them alike.
    partial = partial_of(kind, results, extra, parts)
    gate = waivers_file = baseline_file = None
    if meta.policy is not None:
        gate = Gate.of_policy(meta.policy, catalogue=[r.id for r in contract.requirements])
        waivers_file = meta.policy["waivers"] if gate.waivers else None
        baseline_file = meta.policy["baseline"]
        partial["policy"] = dict(meta.policy)
    report = build_report(
        results,
        target=meta.target,
        started=meta.started,
        duration_s=meta.duration_s,
        spec_sha256=contract.spec_sha256,
        seed=seed,
        strict=meta.strict,
        interrupted=interrupted or bool(missing),
        requests_sent=meta.requests_sent,
        known_jobs=known_jobs,
        notes=[*notes, *_missing_note(missing)],
        suite_version=__version__,
        redactor=redactor,
        gate=gate,
        waivers_file=waivers_file,
        baseline_file=baseline_file,
        # A part of the inputs (a shard, or parts that leave one out) cannot tell what the
        # rest holds: what it did not see of the known debt is neither stale nor unseen.
        part=bool(_missing_shards(set(parts))),
    )
    report["partial"] = redactor.data(partial)
    return report


def _builder(kind: str) -> tuple[Callable[..., dict[str, Any]], Callable[..., dict[str, Any]]]:
    """The command's own report builder and its merge of what it adds (``report_of``,
    ``merge_extra`` of the module named ``kind``)."""
    module = importlib.import_module(f"jobs_conformance.{kind}")
    return module.report_of, module.merge_extra


KINDS = ("observe", "audit")


def _shards_by_source(parts: set[str]) -> dict[str, set[Shard]]:
    by_source: dict[str, set[Shard]] = {}
    for part in parts:
        shard, _, source = part.partition("|")
        by_source.setdefault(source, set()).add(Shard.parse(shard))
    return by_source


def _covered(parts: set[str]) -> set[str]:
    """Parts with every shard of one source present collapse to that source's whole."""
    collapsed = set()
    for source, shards in _shards_by_source(parts).items():
        counts = {s.count for s in shards}
        if len(counts) == 1 and len(shards) == next(iter(counts)):
            collapsed.add(f"{Shard()}|{source}")
        else:
            collapsed |= {f"{s}|{source}" for s in shards}
    return collapsed


def _overlap(first: set[str], second: set[str]) -> str | None:
    """A (source, shard) both sides judged, or None."""
    for a in first:
        for b in second:
            shard_a, _, source_a = a.partition("|")
            shard_b, _, source_b = b.partition("|")
            if source_a != source_b:
                continue
            sa, sb = Shard.parse(shard_a), Shard.parse(shard_b)
            # Two shardings of one source overlap unless they are two shards of one N.
            if sa == sb or sa.count != sb.count:
                return f"{source_b} (shard {sa} and shard {sb})"
    return None


def judged(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a record judged, without when, how long or which parts it covers: what a merge
    of the parts must give as one process over everything gives it."""
    keys = ("verdict", "requirements", "findings", "coverage", "errors", "target")
    return {key: record[key] for key in keys} | {"results": record["partial"]["results"]}


def merge_records(
    records: Sequence[Mapping[str, Any]], names: Sequence[str] | None = None
) -> dict[str, Any]:
    """The report of one run over the inputs of ``records`` (each an observe or audit record)."""
    from jobs_conformance.contract import load_contract

    names = list(names or [f"record {n}" for n in range(1, len(records) + 1)])
    if not records:
        raise UsageError("--merge", "", "one or more conformance.json records")
    kinds = set()
    for name, record in zip(names, records, strict=True):
        partial = record.get("partial")
        if not isinstance(partial, Mapping) or partial.get("kind") not in KINDS:
            raise UsageError(
                "--merge", name, "a record of observe or audit (a run's record does not merge)"
            )
        kinds.add(partial["kind"])
    if len(kinds) > 1:
        raise UsageError(
            "--merge", " ".join(names), "records of one command, not " + " and ".join(sorted(kinds))
        )
    contract = load_contract()
    for name, record in zip(names, records, strict=True):
        if record["spec_sha256"] != contract.spec_sha256:
            raise UsageError("--merge", name, "a record judged against this suite's spec")
    strict = {bool(r["strict"]) for r in records}
    if len(strict) > 1:
        raise UsageError("--merge", " ".join(names), "records all strict or all not")
    policies = {json.dumps(r["partial"].get("policy"), sort_keys=True) for r in records}
    if len(policies) > 1:
        raise UsageError(
            "--merge", " ".join(names), "records of one gate (the same waivers and baseline)"
        )
    (kind,) = kinds
    build, merge_extra = _builder(kind)
    results = Results(contract)
    parts: set[str] = set()
    extra: dict[str, Any] | None = None
    for name, record in zip(names, records, strict=True):
        partial = record["partial"]
        these = set(partial["parts"])
        clash = _overlap(parts, these)
        if clash is not None:
            raise UsageError("--merge", name, f"a part not judged already: {clash} is in two")
        parts = _covered(parts | these)
        results.merge(partial["results"])
        extra = dict(partial["extra"]) if extra is None else merge_extra(extra, partial["extra"])
    targets = sorted({str(r["target"]) for r in records})
    meta = Meta(
        target="; ".join(targets),
        started=min(datetime.datetime.fromisoformat(r["started"]) for r in records),
        duration_s=sum(float(r["duration_s"]) for r in records),
        requests_sent=sum(int(r["requests_sent"]) for r in records),
        strict=strict.pop(),
        policy=json.loads(policies.pop()),
    )
    # Parts that leave a shard out still merge on (their partial results are whole), but
    # what they judged is not all of the input.
    return build(results, extra or {}, meta, parts=sorted(parts), missing=_missing_shards(parts))


def _missing_note(missing: Sequence[str]) -> list[str]:
    if not missing:
        return []
    return [
        f"No part judged {', '.join(missing)}: no verdict on the input, though every finding "
        "stands (merge the missing parts' records with this one to complete it)."
    ]


def _missing_shards(parts: set[str]) -> list[str]:
    """The shards of each source that no part covers (``parts`` collapsed by ``_covered``)."""
    missing = []
    for source, shards in sorted(_shards_by_source(parts).items()):
        for count in sorted({s.count for s in shards}):
            have = {s.index for s in shards if s.count == count}
            missing += [
                f"shard {k}/{count} of {source}" for k in range(1, count + 1) if k not in have
            ]
    return missing
