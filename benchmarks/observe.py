"""Speed and peak memory of ``jobs-conformance observe`` on NDJSON with bodies.

Plain script, not a test. Writes an NDJSON recording of about ``--mib``
mebibytes (distinct uuid4 ids, bodies drawn from the reference corpus with
their timestamps varied, so nothing repeats that a cache could exploit; one
exchange in fifty faulty), then runs ``jobs-conformance observe`` on it as a
user does (a subprocess: start-up included, one process, so one core) and
prints exchanges per second and the process's peak resident memory.
Figures go to the "observe" member of ``benchmarks/results.json``.

The issue's goals: at least 20,000 exchanges a second; at most 100 MiB of
peak memory on a 1 GiB input.

    python benchmarks/observe.py [--mib 1024] [--keep FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from jobs_conformance.instants import instant_of
from jobs_conformance.invocation import command_line
from jobs_conformance.reference.corpus import load_corpus

RESULTS = Path(__file__).resolve().parent / "results.json"
# The goals.
_RATE_GOAL = 20_000  # exchanges a second, on one core
_PEAK_GOAL_MIB = 100  # on a 1 GiB input


def _stamp(rng: random.Random) -> str:
    year, month = rng.randint(1970, 2099), rng.randint(1, 12)
    day = rng.randint(1, 28)
    clock = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    fraction = rng.choice(["", f".{rng.randint(0, 999):03d}"])
    return f"{year:04d}-{month:02d}-{day:02d}T{clock}{fraction}Z"


def write_recording(path: Path, mib: int, seed: int = 20261129) -> int:
    """An NDJSON recording of about ``mib`` MiB; how many exchanges it holds."""
    rng = random.Random(seed)
    corpus = load_corpus()
    limit, written, lines = mib * 1024 * 1024, 0, 0
    with path.open("w", encoding="utf-8") as out:
        while written < limit:
            job = dict(rng.choice(corpus))
            job_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            job["id"] = job_id
            # In order, or half the exchanges would break body.timeline: one in fifty is faulty.
            job["createdAt"], job["updatedAt"] = sorted((_stamp(rng), _stamp(rng)), key=instant_of)
            if lines % 50 == 0:
                job["createdAt"] = job["createdAt"].replace("Z", "+00:00")  # a migrated row
            line = json.dumps(
                {
                    "method": "GET",
                    "url": f"https://gateway.example/api/v2/jobs/{job_id}",
                    "status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": json.dumps(job),
                }
            )
            out.write(line + "\n")
            written += len(line) + 1
            lines += 1
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the recording (MiB)")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the recording here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        recording = args.keep or Path(folder) / "traffic.ndjson"
        if not recording.is_file():
            write_recording(recording, args.mib)
        lines = sum(1 for _ in recording.open("rb"))
        size_mib = recording.stat().st_size / 2**20
        started = time.perf_counter()
        observed = subprocess.run(
            command_line("observe", str(recording), "--report-dir", str(Path(folder) / "r")),
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rate, peak_mib = lines / wall, peak_kib / 1024
    figures = {
        "input_mib": round(size_mib),
        "exchanges": lines,
        "wall_s": round(wall, 1),
        "exchanges_per_s": round(rate),
        "peak_rss_mib": round(peak_mib, 1),
        "exit": observed.returncode,
        "goals": {
            "exchanges_per_s_at_least": _RATE_GOAL,
            "met": rate >= _RATE_GOAL,
            "peak_rss_mib_at_most": _PEAK_GOAL_MIB,
            "peak_met": peak_mib <= _PEAK_GOAL_MIB,
        },
    }
    print(json.dumps(figures, indent=2))
    if RESULTS.is_file():
        # The whole member: notes written beside earlier figures would outlive them.
        results = json.loads(RESULTS.read_text())
        results["observe"] = figures
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    # One in fifty exchanges is faulty: the verdict must be a failure, not an error.
    return 0 if observed.returncode == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
