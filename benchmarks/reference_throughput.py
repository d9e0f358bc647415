"""Requests per second the reference server serves to one keep-alive client on loopback.

Plain script, not a test: prints a table. The client is http.client on one
persistent connection (no pooling library in the way), sending GETs of
corpus jobs back to back; the server is the embedded reference, started here.

    python benchmarks/reference_throughput.py [--requests N] [--latency-ms N]
"""

from __future__ import annotations

import argparse
import http.client
import time
from urllib.parse import urlsplit

from jobs_conformance.reference.server import ReferenceServer


def measure(base_url: str, ids: list[str], count: int) -> float:
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.connect()
    local = connection.sock.getsockname()
    started = time.perf_counter()
    for i in range(count):
        connection.request("GET", f"{url.path}/jobs/{ids[i % len(ids)]}")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"unexpected status {response.status}")
    elapsed = time.perf_counter() - started
    if connection.sock.getsockname() != local:
        raise SystemExit("the connection was not kept alive")
    connection.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with ReferenceServer() as server:
        ids = server.job_ids()
        measure(server.base_url, ids, 200)  # warm-up
        rates = [measure(server.base_url, ids, args.requests) for _ in range(args.rounds)]
    print(f"{'round':>5}  {'requests':>8}  {'req/s':>8}")
    for number, rate in enumerate(rates, 1):
        print(f"{number:>5}  {args.requests:>8}  {rate:>8.0f}")
    print(
        f"median {sorted(rates)[len(rates) // 2]:.0f} req/s (one keep-alive connection, loopback)"
    )


if __name__ == "__main__":
    main()
