"""A secret given with --header appears in no report file and nowhere on the console,
even when the target echoes it back in bodies and headers of failing responses."""

from __future__ import annotations

import json

from hostile import HostileServer, respond
from tests_support import DOC_EXAMPLE, run_cli_in_process

pytest_plugins = ["pytester"]

TOKEN = "tok-9f8e7d6c5b4a39281706"
API_KEY = "key-0a1b2c3d4e5f60718293"


def _echoing(seen, connection):
    echoed = f"{seen.headers.get('authorization', '')} {seen.headers.get('x-api-key', '')}"
    headers = {
        "Content-Type": "application/json",
        "X-Debug-Auth": echoed,
        "Set-Cookie": f"session={API_KEY}",
    }
    if seen.path.endswith(DOC_EXAMPLE["id"]):
        body = {**DOC_EXAMPLE, "name": f"seen {echoed}", "createdAt": "2100-02-29T00:00:00Z"}
        respond(connection, 200, json.dumps(body).encode(), headers)
    else:
        respond(connection, 500, f"upstream rejected credentials {echoed}".encode(), headers)


def test_secrets_never_reach_reports_or_console(pytester, tmp_path):
    report_dir = tmp_path / "reports"
    with HostileServer(_echoing) as server:
        code, report, out, err = run_cli_in_process(
            pytester,
            "--base-url",
            server.base_url,
            "--job-id",
            DOC_EXAMPLE["id"],
            "--header",
            f"Authorization: Bearer {TOKEN}",
            report_dir=report_dir,
            env={"JOBS_CONFORMANCE_HEADERS": f"X-Api-Key: {API_KEY}"},
        )
    assert code == 1, out[-2000:]
    assert report["verdict"] == "fail"
    assert any(server_seen.headers.get("x-api-key") == API_KEY for server_seen in server.seen)
    files = list(report_dir.iterdir())
    assert {p.name for p in files} >= {
        "conformance.json",
        "junit.xml",
        "conformance.html",
        "conformance.md",
        "badge.svg",
    }
    for secret in (TOKEN, API_KEY):
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"{secret} leaked into {path.name}"
        assert secret not in out and secret not in err
    assert "[REDACTED]" in (report_dir / "conformance.json").read_text()
