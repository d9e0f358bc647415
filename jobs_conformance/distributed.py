"""``observe`` on a Dask cluster: the ``jobs-conformance[dask]`` extra's recipe.

A ``dask.bag`` of the N shards of the inputs (``Shard(k, N)`` for k in
1..N, one partition each), each judged by :func:`observe_record` on a
worker as ``observe --shard K/N`` judges it in a process of its own, and
the N records merged by :func:`merge_records` as ``report --merge`` merges
them. The result is the record one process over all the inputs returns
(the same rows, findings, coverage, errors and verdict); its duration is
the sum of the parts', as a merge's is.

Shards are by job id, not by log lines: every task reads all the inputs
and judges the exchanges of its own ids, so a job read twice, or in two
cases, is judged where both reads are, exactly as one process judges it.
Slicing the logs instead would miss every such pair that straddles two
slices. So each input must be readable by every worker at the same path
(the same machine, a shared file system), and reading it is paid once per
shard (an NDJSON line of another shard is skipped unparsed, but it is
read): more shards than workers buys balance, not speed.

The merge runs on the workers as a tree (``Bag.reduction``, each step
:func:`merge_records` over up to ``split_every`` records), so the client
receives one record however many shards there are. Merging is associative
and order-independent, so how Dask groups the parts does not change the
result; and it refuses two parts that judged the same shard, so no shard
is ever counted twice.

    from distributed import Client, LocalCluster
    from jobs_conformance.distributed import observe_on_dask

    if __name__ == "__main__":  # local workers start by importing the main module
        with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
            record = observe_on_dask(["traffic.ndjson"], client=client, partitions=2)

``jobs-conformance report --merge`` writes the record's reports (a record
of all the shards merges to itself).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs_conformance.errors import UsageError
from jobs_conformance.gate import checked_policy, policy_of
from jobs_conformance.merge import merge_records
from jobs_conformance.observe import observe_record
from jobs_conformance.recordings import FORMATS
from jobs_conformance.settings import cli_spelling, resolve
from jobs_conformance.shards import Shard

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["local_cluster", "observe_on_dask"]


def _require_dask() -> Any:
    """``dask.bag``, or a usage error saying which extra brings it."""
    try:
        import dask.bag
    except ImportError as exc:
        raise UsageError(
            "observe_on_dask", "dask", "jobs-conformance[dask] installed (dask.bag is missing)"
        ) from exc
    return dask.bag


@contextlib.contextmanager
def local_cluster(workers: int, scratch: str) -> Iterator[Client]:
    """A client of a ``LocalCluster`` of ``workers`` processes (one thread each) that listens
    on loopback only, serves no dashboard and profiles nothing, with Dask's scratch files in
    ``scratch``.

    The scheduler serves HTTP (health, metrics) even without a dashboard, on
    8787 unless told: a random loopback port instead, so no run waits on
    another's. Dask's scratch folder defaults to the system's temporary one,
    where it would be left behind.
    """
    _require_dask()
    import dask
    import distributed

    with (
        # Each Nanny hands its worker process the configuration set when it is created,
        # so what is set here reaches the workers. The statistical profiler samples each
        # worker's stack every 10 ms for a dashboard this cluster does not serve: off, a
        # worker judging a shard spent 4% fewer CPU seconds (1-worker clusters side by
        # side, each judging the same 100,000 lines: 158 s against 165 over 11 rounds).
        dask.config.set(
            {"temporary-directory": scratch, "distributed.worker.profile.enabled": False}
        ),
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _observe_shard(
    shard: Shard,
    *,
    names: Sequence[str],
    fmt: str,
    path_prefix: str,
    strict: bool,
    policy: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One task: ``observe --shard K/N`` without writing reports. Top level, so a worker
    process imports it by name rather than unpickling a closure."""
    return observe_record(
        names, fmt=fmt, path_prefix=path_prefix, strict=strict, shard=shard, policy=policy
    )


def _observes_gate(strict: bool) -> tuple[dict[str, Any], Mapping[str, str]]:
    """The gate ``jobs-conformance observe`` applies without options (``--strict`` as
    ``strict``): the same waivers and baseline, so the recipe's record is the command's.
    Their files by absolute path: a worker's working directory may be another. Beside it,
    where its values came from (the environment's variables), for messages."""
    settings = resolve({"strict": strict or None}, environ=os.environ, spelling=cli_spelling)
    policy = policy_of(settings)
    for name in ("waivers", "baseline"):
        if policy[name] is not None:
            policy[name] = str(Path(policy[name]).absolute())
    return policy, settings.sources


def _merged(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One step of the reduction: every level of the tree calls it on what the level below made."""
    return merge_records(list(records))


def observe_on_dask(
    names: Iterable[str],
    *,
    client: Client | str | None = None,
    partitions: int,
    fmt: str = "auto",
    path_prefix: str = "",
    strict: bool = False,
    policy: Mapping[str, Any] | None = None,
    split_every: int = 8,
) -> dict[str, Any]:
    """The record of ``observe`` over ``names``, judged in ``partitions`` shards by job id on Dask.

    ``client`` is a ``distributed.Client``, a scheduler's address (a client
    is opened on it and closed after), or None: Dask's current scheduler,
    which is the default client where one is open. ``names`` must be paths
    every worker can read; stdin (``-``) is refused. ``split_every``: how many
    records each step of the merge takes (8, Dask's default for reductions).
    ``policy``: the gate's settings (:func:`jobs_conformance.gate.policy_of`), so
    waivers and a baseline apply as ``observe --waivers ...`` applies them;
    without one, the gate ``observe`` resolves when given no option (its
    environment variables, then ``conformance-waivers.toml`` in the working
    directory), with its files named by absolute path for the workers.
    """
    bag = _require_dask()
    sources = list(names)
    if not sources:
        raise UsageError("names", "", "one or more recorded traffic files")
    if "-" in sources:
        # Every task reads every input: a stream can be read once, by one process.
        raise UsageError("names", "-", "files every worker can read (stdin cannot be shared)")
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise UsageError("partitions", partitions, "an int >= 1 (the number of shards)")
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise UsageError("split_every", split_every, "an int >= 2 (records merged in one step)")
    if fmt not in FORMATS:
        raise UsageError("fmt", fmt, "one of " + ", ".join(FORMATS))
    given_by: Mapping[str, str] | None = None  # where the gate's files were named
    if policy is None:
        policy, given_by = _observes_gate(strict)
        strict = bool(policy["strict"])
    # Read here, once: a bad waiver file is a usage error, not a traceback from every worker.
    checked_policy(policy, given_by)
    shards = [Shard(k, partitions) for k in range(1, partitions + 1)]
    record = (
        bag.from_sequence(shards, npartitions=partitions)
        # Bound by partial, not as map's arguments: Dask may read those as part of the graph,
        # where a string equal to a key's name would be replaced by that key's value.
        .map(
            functools.partial(
                _observe_shard,
                names=sources,
                fmt=fmt,
                path_prefix=path_prefix,
                strict=strict,
                policy=policy,
            )
        )
        .reduction(_merged, _merged, split_every=split_every)
    )
    if client is None:
        return record.compute()
    if isinstance(client, str):
        from distributed import Client

        with Client(client) as opened:
            return opened.compute(record).result()
    return client.compute(record).result()
