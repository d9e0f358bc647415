"""Speed of a verdict, measured against schemathesis's own CLI in the same run.

Plain script, not a test. Prints a table and writes benchmarks/results.json:

1. the ceiling: requests/s of a plain keep-alive client loop (http.client, and
   requests.Session for comparison) against the reference server in its own
   process, as the suite runs it, and the same loop through the suite's own
   client (every safety rule on);
2. the suite's request rate during a default run (requests / wall time, start-up
   included) and during its requests (first to last arrival at the target),
   and their ratios to the ceiling;
3. wall time and requests to a verdict: the default run (embedded reference),
   and the same configuration against the reference locally and with
   --latency-ms 20;
4. schemathesis's CLI (`st run spec/openapi.yaml --url ...`, the known job ids
   given through a fuzzing dictionary) against the same targets: wall time,
   requests, and which catalogue faults each detects.

    python benchmarks/run.py [--rounds 3] [--latency-ms 20] [--skip-faults]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from jobs_conformance.client import Client, ClientSettings
from jobs_conformance.contract import default_spec_dir, load_contract
from jobs_conformance.invocation import command_line
from jobs_conformance.reference.faults import FAULTS
from jobs_conformance.reference.server import ReferenceProcess, ReferenceServer

ROOT = default_spec_dir().parent
SPEC = default_spec_dir() / "openapi.yaml"
API_KEY = "benchmark-key-4f1e2d"
RESULTS = Path(__file__).resolve().parent / "results.json"
# schemathesis's CLI beside this interpreter, not through a PATH shim (pyenv's
# adds tens of milliseconds to every start, which would flatter the suite).
ST = str(Path(sys.executable).with_name("st"))


class _Counter:
    """WSGI middleware counting the requests a target receives, and when the first and last arrived."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.first = self.last = 0.0

    def __call__(self, environ: dict, start_response: Any) -> Any:
        now = time.perf_counter()
        with self._lock:
            self.count += 1
            self.first = self.first or now
            self.last = now
        return self.app(environ, start_response)

    @property
    def span_s(self) -> float:
        return self.last - self.first


def _counted(**kwargs: Any) -> tuple[ReferenceServer, _Counter]:
    server = ReferenceServer(threads=16, **kwargs)
    counter = _Counter(server.app)
    server.app = counter
    return server, counter


def ceiling(requests_count: int) -> dict[str, float]:
    """Requests/s of one keep-alive connection, sequential, against the reference in its own process."""
    process = ReferenceProcess()
    try:
        base = process.base_url
        ids = [line for line in _ids_from_corpus()]
        url = urlsplit(base)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        for i in range(200):
            connection.request("GET", f"{url.path}/jobs/{ids[i % len(ids)]}")
            connection.getresponse().read()
        started = time.perf_counter()
        for i in range(requests_count):
            connection.request("GET", f"{url.path}/jobs/{ids[i % len(ids)]}")
            connection.getresponse().read()
        raw = requests_count / (time.perf_counter() - started)
        connection.close()
        session = requests.Session()
        started = time.perf_counter()
        for i in range(requests_count):
            session.get(f"{base}/jobs/{ids[i % len(ids)]}").content  # noqa: B018 - read the body
        stack = requests_count / (time.perf_counter() - started)
        session.close()
        client = Client(ClientSettings(base_url=base))
        started = time.perf_counter()
        for i in range(requests_count):
            client.get_job(ids[i % len(ids)])
        own = requests_count / (time.perf_counter() - started)
        client.close()
    finally:
        process.stop()
    return {"http_client_rps": raw, "requests_session_rps": stack, "suite_client_rps": own}


def _ids_from_corpus() -> list[str]:
    return [
        job["id"] for job in json.loads((default_spec_dir() / "examples" / "jobs.json").read_text())
    ]


def _suite(report_dir: Path, *args: str) -> dict[str, Any]:
    started = time.perf_counter()
    result = subprocess.run(
        command_line(
            "run",
            "--report-dir",
            str(report_dir),
            *args,
        ),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    report = json.loads((report_dir / "conformance.json").read_text())
    return {
        "exit": result.returncode,
        "wall_s": wall,
        "requests": report["requests_sent"],
        "report": report,
    }


def _schemathesis(config: Path, base_url: str) -> dict[str, Any]:
    started = time.perf_counter()
    result = subprocess.run(
        [
            ST,
            "--config-file",
            str(config),
            "run",
            str(SPEC),
            "--url",
            base_url,
            "-H",
            f"X-Api-Key: {API_KEY}",
        ],
        capture_output=True,
        text=True,
    )
    return {"exit": result.returncode, "wall_s": time.perf_counter() - started}


def _target_args(server: ReferenceServer, ids_file: Path, *, strict: bool = False) -> list[str]:
    args = [
        "--base-url",
        server.base_url,
        "--job-ids-file",
        str(ids_file),
        "--header",
        f"X-Api-Key: {API_KEY}",
        "--auth-header",
        "X-Api-Key",
    ]
    args += ["--seed-url", server.base_url + "/__seed/jobs"]
    return args + (["--strict"] if strict else [])


def _against(
    work: Path,
    config: Path,
    ids_file: Path,
    *,
    faults: list[str] = (),
    latency_ms: int = 0,
    strict: bool = False,
) -> dict[str, Any]:
    server, counter = _counted(
        faults=faults, api_key=API_KEY, allow_seeding=True, latency_ms=latency_ms
    )
    with server:
        suite = _suite(work / "r", *_target_args(server, ids_file, strict=strict))
        suite["requests_received"] = counter.count
        suite["request_phase_s"] = counter.span_s
        counter.reset()
        st = _schemathesis(config, server.base_url)
        st["requests"] = counter.count
        st["request_phase_s"] = counter.span_s
    return {"suite": suite, "schemathesis": st}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=3, help="repeats of the timed runs (median reported)"
    )
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument(
        "--fault-rounds", type=int, default=3, help="repeats per catalogue fault (median reported)"
    )
    parser.add_argument("--ceiling-requests", type=int, default=5000)
    parser.add_argument(
        "--skip-faults", action="store_true", help="skip the fault catalogue comparison"
    )
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    }

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        ids_file = work / "ids.txt"
        ids_file.write_text("\n".join(_ids_from_corpus()))
        config = work / "schemathesis.toml"
        # The known ids, as schemathesis's fuzzing dictionary for the path parameter.
        config.write_text(
            "[dictionaries.jobs]\nvalues = ["
            + ", ".join(json.dumps(i) for i in _ids_from_corpus())
            + "]\n\n"
            '[parameters]\n"path.jobId" = { dictionary = "jobs", probability = 0.5 }\n'
        )

        results["ceiling"] = ceiling(args.ceiling_requests)

        defaults = [_suite(work / "default") for _ in range(args.rounds)]
        local = [_against(work, config, ids_file) for _ in range(args.rounds)]
        remote = [
            _against(work, config, ids_file, latency_ms=args.latency_ms) for _ in range(args.rounds)
        ]
        raw = results["ceiling"]["http_client_rps"]
        wall = statistics.median(d["wall_s"] for d in defaults)
        requests_sent = defaults[0]["requests"]
        # The same configuration against a target that times arrivals: from
        # the first request to the last, start-up and reports left out.
        phase = statistics.median(r["suite"]["request_phase_s"] for r in local)
        received = local[0]["suite"]["requests_received"]
        results["default_run"] = {
            "verdict": defaults[0]["report"]["verdict"],
            "wall_s": wall,
            "requests": requests_sent,
            "rate_rps": requests_sent / wall,
            "ratio_to_http_client": requests_sent / wall / raw,
            "request_phase_s": phase,
            "request_phase_requests": received,
            "request_phase_rate_rps": received / phase,
            "request_phase_ratio_to_http_client": received / phase / raw,
            "suite_client_ratio_to_http_client": results["ceiling"]["suite_client_rps"] / raw,
        }

        def summary(runs: list[dict[str, Any]], tool: str) -> dict[str, Any]:
            return {
                "wall_s": statistics.median(r[tool]["wall_s"] for r in runs),
                "requests": runs[0][tool].get("requests_received", runs[0][tool]["requests"]),
                "request_phase_s": statistics.median(r[tool]["request_phase_s"] for r in runs),
                "exit": runs[0][tool]["exit"],
            }

        results["targets"] = {
            "reference": {
                "suite": summary(local, "suite"),
                "schemathesis": summary(local, "schemathesis"),
            },
            f"reference+{args.latency_ms}ms": {
                "suite": summary(remote, "suite"),
                "schemathesis": summary(remote, "schemathesis"),
            },
        }
        results["latency_ratio"] = (
            results["targets"][f"reference+{args.latency_ms}ms"]["suite"]["wall_s"]
            / results["targets"]["reference"]["suite"]["wall_s"]
        )

        if not args.skip_faults:
            catalogue = {r.id: r for r in load_contract().requirements}
            rows = {}
            for name, fault in sorted(FAULTS.items()):
                should_only = all(catalogue[r].severity == "should" for r in fault.requirements)
                runs = [
                    _against(work, config, ids_file, faults=[name], strict=should_only)
                    for _ in range(args.fault_rounds)
                ]
                run = runs[0]
                report = run["suite"]["report"]
                failed = {r["id"] for r in report["requirements"] if r["status"] == "fail"}
                rows[name] = {
                    "requirements": sorted(fault.requirements),
                    "suite_detected": run["suite"]["exit"] == 1 and fault.requirements <= failed,
                    "suite_wall_s": statistics.median(r["suite"]["wall_s"] for r in runs),
                    "suite_requests": run["suite"]["requests_received"],
                    "schemathesis_detected": run["schemathesis"]["exit"] != 0,
                    "schemathesis_wall_s": statistics.median(
                        r["schemathesis"]["wall_s"] for r in runs
                    ),
                    "schemathesis_requests": run["schemathesis"]["requests"],
                }
                print(
                    f"  {name:<24} suite {'yes' if rows[name]['suite_detected'] else 'NO '} {rows[name]['suite_wall_s']:5.2f} s"
                    f"   schemathesis {'yes' if rows[name]['schemathesis_detected'] else 'no '} {rows[name]['schemathesis_wall_s']:5.2f} s",
                    flush=True,
                )
            results["faults"] = rows

    for run in results.get("targets", {}).values():
        for tool in run.values():
            tool.pop("report", None)
    results["goals"] = _goals(results)
    _print(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


def _goals(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The issue's four goals, each with the figure it is judged on and whether it holds."""
    default = results["default_run"]
    goals = {
        "default run within 10 s": {"figure": default["wall_s"], "met": default["wall_s"] <= 10},
        "20 ms latency within 2x local": {
            "figure": results["latency_ratio"],
            "met": results["latency_ratio"] <= 2,
        },
        "request rate at least 50% of the ceiling (requests / wall time)": {
            "figure": default["ratio_to_http_client"],
            "met": default["ratio_to_http_client"] >= 0.5,
        },
    }
    faults = results.get("faults")
    if faults:
        suite = sum(r["suite_wall_s"] for r in faults.values())
        st = sum(r["schemathesis_wall_s"] for r in faults.values())
        detected = all(r["suite_detected"] for r in faults.values())
        goals["catalogue 100% detected within schemathesis's wall time"] = {
            "figure": {"suite_s": suite, "schemathesis_s": st, "all_detected": detected},
            "met": detected and suite <= st,
        }
    return goals


def _print(results: dict[str, Any]) -> None:
    ceiling_ = results["ceiling"]
    default = results["default_run"]
    print("\nceiling (one keep-alive connection, sequential, reference in its own process)")
    print(f"  http.client          {ceiling_['http_client_rps']:8.0f} req/s")
    print(f"  requests.Session     {ceiling_['requests_session_rps']:8.0f} req/s")
    print(
        f"  the suite's Client   {ceiling_['suite_client_rps']:8.0f} req/s"
        f" ({default['suite_client_ratio_to_http_client']:.0%} of http.client)"
    )
    print("\ndefault run (jobs-conformance run, embedded reference)")
    print(
        f"  verdict {default['verdict']}, {default['wall_s']:.2f} s wall, {default['requests']} requests"
    )
    print(
        f"  rate over the wall time, start-up included: {default['rate_rps']:.0f} req/s"
        f" ({default['ratio_to_http_client']:.0%} of http.client)"
    )
    print(
        f"  rate over its requests (first to last arrival, {default['request_phase_s']:.2f} s):"
        f" {default['request_phase_rate_rps']:.0f} req/s"
        f" ({default['request_phase_ratio_to_http_client']:.0%} of http.client)"
    )
    print(f"\n{'target':<22}{'tool':<14}{'exit':>5}{'wall s':>9}{'requests':>10}")
    for target, tools in results["targets"].items():
        for tool, row in tools.items():
            print(
                f"{target:<22}{tool:<14}{row['exit']:>5}{row['wall_s']:>9.2f}{row['requests']:>10}"
            )
    print(
        f"latency ratio (suite, {list(results['targets'])[1]} / reference): {results['latency_ratio']:.2f}"
    )
    faults = results.get("faults")
    if faults:
        suite = sum(r["suite_detected"] for r in faults.values())
        st = sum(r["schemathesis_detected"] for r in faults.values())
        print(
            f"\nfault catalogue: suite detects {suite}/{len(faults)} in {sum(r['suite_wall_s'] for r in faults.values()):.1f} s; "
            f"schemathesis {st}/{len(faults)} in {sum(r['schemathesis_wall_s'] for r in faults.values()):.1f} s"
        )
        slower = [n for n, r in faults.items() if r["suite_wall_s"] > r["schemathesis_wall_s"]]
        print(f"targets where the suite took longer than schemathesis: {len(slower)} {slower}")
    print("\ngoals")
    for goal, row in results["goals"].items():
        print(f"  {'met    ' if row['met'] else 'NOT met'}  {goal}: {row['figure']}")


if __name__ == "__main__":
    main()
