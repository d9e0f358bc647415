"""Speed of ``jobs-conformance audit`` against the raw keep-alive rate, in the same run.

Plain script, not a test. Fills a SQLite file with N jobs, serves it with the
reference server in its own process, then measures:

1. the ceiling: ``http.client`` GETs of every id over one keep-alive
   connection, sequentially;
2. ``jobs-conformance audit`` over the same ids, default settings, start-up
   included (a subprocess, as a user runs it);

and prints both rates and their ratio (the issue's goal: at least 50%).

    python benchmarks/audit.py [--jobs 10000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from jobs_conformance.invocation import command_line
from jobs_conformance.reference.corpus import load_corpus
from jobs_conformance.reference.store import JobStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    template = load_corpus()[0]
    with tempfile.TemporaryDirectory() as folder:
        db, ids_file = Path(folder) / "jobs.sqlite3", Path(folder) / "ids.txt"
        ids = [str(uuid.UUID(int=n, version=4)) for n in range(1, args.jobs + 1)]
        store = JobStore(db)
        store.put_many({**template, "id": i} for i in ids)
        store.close()
        ids_file.write_text("\n".join(ids) + "\n")
        server = subprocess.Popen(
            command_line("serve", "--db", str(db), "--port", "0", "--threads", "8"),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # its "stopped" would land in the middle of the figures
            text=True,
        )
        try:
            base_url = server.stdout.readline().strip() if server.stdout else ""
            parts = urlsplit(base_url)
            connection = http.client.HTTPConnection(parts.hostname, parts.port)
            started = time.perf_counter()
            for job_id in ids:
                connection.request("GET", f"{parts.path}/jobs/{job_id}")
                connection.getresponse().read()
            ceiling = len(ids) / (time.perf_counter() - started)
            connection.close()
            started = time.perf_counter()
            audit = subprocess.run(
                command_line(
                    "audit",
                    "--base-url",
                    base_url,
                    "--job-ids-file",
                    str(ids_file),
                    "--report-dir",
                    str(Path(folder) / "r"),
                ),
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    rate = len(ids) / wall
    figures = {
        "jobs": len(ids),
        "http_client_per_s": round(ceiling),
        "audit_wall_s": round(wall, 2),
        "audit_per_s": round(rate),
        "ratio": round(rate / ceiling, 2),
        "audit_exit": audit.returncode,
    }
    print(json.dumps(figures, indent=2))
    print(f"goal (at least 50% of http.client): {'met' if rate >= ceiling / 2 else 'NOT met'}")
    return 0 if audit.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
