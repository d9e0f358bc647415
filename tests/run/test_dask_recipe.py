"""The Dask recipe (``jobs-conformance[dask]``): shards judged on a LocalCluster, merged on it,
give the record one process gives.

Done when: "the Dask recipe runs in CI on a LocalCluster and matches the
single-process report." The cluster is real (two worker processes, each
importing the suite by name, as a remote worker would) but binds loopback
only and serves no dashboard.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
import uuid
from pathlib import Path

# Imported, not skipped when missing: the test extra installs the dask extra, and a
# recipe whose test quietly skips is a recipe nobody checks.
import distributed
import pytest
from tests_support import DOC_EXAMPLE, failed, recorded_exchange

from jobs_conformance.cli import main as cli
from jobs_conformance.distributed import local_cluster, observe_on_dask
from jobs_conformance.errors import UsageError
from jobs_conformance.merge import judged
from jobs_conformance.observe import observe_record


def _traffic(jobs: int) -> list[object]:
    """Each job read in several ways, so every shard holds conforming and faulty reads of
    every kind: bad dates and ids in bodies, a 404 for another case, a repeat with another
    body, a malformed id answered 200, other endpoints and methods, unreadable lines."""
    rng = random.Random(20231107)
    traffic: list[object] = []
    for n in range(jobs):
        job_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        job = {**DOC_EXAMPLE, "id": job_id}
        first = job
        if n % 3 == 0:
            first = {**job, "createdAt": "2023-02-29T00:00:00Z"}  # not a leap year
        elif n % 11 == 0:
            first = {**job, "id": str(uuid.UUID(int=n, version=4))}  # another job's id
        elif n % 13 == 0:
            first = {k: v for k, v in job.items() if k != "name"}
        traffic += [
            recorded_exchange(f"/jobs/{job_id}", 200, first),
            recorded_exchange(f"/jobs/{job_id.upper()}", 404 if n % 4 == 0 else 200, job),
            recorded_exchange(
                f"/jobs/{job_id}", 200, {**job, "name": "again"} if n % 5 == 0 else job
            ),
            recorded_exchange(f"/jobs/{{{job_id}}}", 200 if n % 7 == 0 else 400, {"error": "bad"}),
            recorded_exchange(f"/jobs/{job_id[:-1]}", 404 if n % 9 == 0 else 400),
        ]
        if n % 10 == 0:
            traffic += [
                recorded_exchange(f"/other/{n}", 200, "x"),
                recorded_exchange(f"/jobs/{job_id}", 204, method="DELETE"),
            ]
        if n % 50 == 0:
            traffic += [{"broken": True}, "not an exchange"]
    # Repeats and other cases land anywhere, in either file.
    rng.shuffle(traffic)
    return traffic


@pytest.fixture(scope="module")
def traffic_files(tmp_path_factory) -> list[str]:
    """Two recordings of one traffic, one gzip: a job's reads straddle the two files."""
    folder = tmp_path_factory.mktemp("traffic")
    lines = [json.dumps(item) + "\n" for item in _traffic(800)]
    plain, packed = folder / "a.ndjson", folder / "b.ndjson.gz"
    plain.write_text("".join(lines[: len(lines) // 2]))
    packed.write_bytes(gzip.compress("".join(lines[len(lines) // 2 :]).encode()))
    return [str(plain), str(packed)]


@pytest.fixture
def client(tmp_path):
    """Two worker processes of one thread each, on 127.0.0.1, no dashboard, no profiler;
    closed after."""
    # Scratch space (the scheduler's too, which takes no local_directory) under tmp_path,
    # not a dask-scratch-space left in the system's temporary folder.
    with local_cluster(2, str(tmp_path)) as client:
        addresses = [client.scheduler.address, *client.scheduler_info()["workers"]]
        assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
        # The configuration reached the worker processes: no sampling of their stacks.
        profiling = client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
        assert list(profiling.values()) == [False, False], profiling
        yield client


# One test on one cluster: under xdist's worksteal, tests of one module may land on two
# processes, and each would start a cluster of its own on the same two cores.
def test_dask_recipe_gives_the_single_process_record(client, traffic_files, monkeypatch):
    whole = observe_record(traffic_files)
    # The traffic is what the comparison needs it to be: findings, errors, skips, no verdict.
    assert whole["verdict"] == "incomplete" and whole["findings"] and whole["errors"]
    assert {"body.datetime", "http.case-insensitive", "http.idempotent"} <= failed(whole)
    assert whole["coverage"]["skipped"]

    # 5 shards merged 2 at a time: a tree of three levels, some steps merging merged records.
    # None: Dask's current client, which the fixture's is.
    with distributed.get_task_stream(client) as tasks:
        for given, partitions, split_every in [(client, 2, 8), (None, 5, 2)]:
            merged = observe_on_dask(
                traffic_files, client=given, partitions=partitions, split_every=split_every
            )
            assert judged(merged) == judged(whole), (partitions, split_every)
            # Every shard of both files was judged, once: the parts collapse to the wholes.
            assert merged["partial"]["parts"] == sorted(f"1/1|{n}" for n in traffic_files)
    assert len({task["worker"] for task in tasks.data}) == 2, "both workers judge shards"

    # A scheduler's address: the recipe opens a client of its own, and closes it.
    one = traffic_files[:1]
    merged = observe_on_dask(one, client=client.scheduler.address, partitions=2)
    assert judged(merged) == judged(observe_record(one))

    # The gate observe applies without options applies here too: its waivers file, named
    # by the environment (the default file in the working directory likewise).
    folder = Path(traffic_files[0]).parent / "gate"
    assert cli(["observe", *one, "--report-dir", str(folder / "before")]) == 2  # its errors
    before = folder / "before" / "conformance.json"
    ids = [f["id"] for f in json.loads(before.read_text())["findings"]]
    waivers = folder / "waivers.toml"
    assert cli(["waive", "--from", str(before), "--waivers", str(waivers), "--reason", "known",
                "--expires", "2999-01-01", *ids]) == 0  # fmt: skip
    monkeypatch.setenv("JOBS_CONFORMANCE_WAIVERS", str(waivers))
    assert cli(["observe", *one, "--report-dir", str(folder / "after")]) == 2
    command = json.loads((folder / "after" / "conformance.json").read_text())
    assert {f["status"] for f in command["findings"]} == {"waived"}
    merged = observe_on_dask(one, client=client, partitions=2)
    assert judged(merged) == judged(command)


@pytest.mark.parametrize(
    ("names", "options", "argument"),
    [
        ([], {}, "names"),
        (["-"], {}, "names"),  # stdin: read once, by one process
        (["a.ndjson"], {"partitions": 0}, "partitions"),
        (["a.ndjson"], {"partitions": True}, "partitions"),
        (["a.ndjson"], {"split_every": 1}, "split_every"),
        (["a.ndjson"], {"fmt": "csv"}, "fmt"),
    ],
)
def test_misuse_is_a_usage_error_before_anything_runs(names, options, argument):
    with pytest.raises(UsageError) as raised:
        observe_on_dask(names, **{"partitions": 2, **options})
    assert raised.value.argument == argument


def test_without_the_extra_the_error_names_it(monkeypatch):
    # None in sys.modules makes the import fail as an absent package does.
    monkeypatch.setitem(sys.modules, "dask.bag", None)
    with pytest.raises(UsageError, match=r"jobs-conformance\[dask\]"):
        observe_on_dask(["a.ndjson"], partitions=2)


def test_a_bad_waiver_file_is_a_usage_error_before_any_shard_runs(tmp_path, monkeypatch):
    bad = tmp_path / "waivers.toml"
    bad.write_text("[[waiver]\nthis is not TOML\n")
    monkeypatch.setenv("JOBS_CONFORMANCE_WAIVERS", str(bad))
    # No cluster: the error comes before one would be asked for anything.
    # Named as observe names it: by the variable that gave it.
    with pytest.raises(UsageError, match=r"^JOBS_CONFORMANCE_WAIVERS: .*waivers\.toml"):
        observe_on_dask(["a.ndjson"], client="tcp://127.0.0.1:9", partitions=2)
