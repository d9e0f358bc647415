"""Credentials wherever users put them: user-info in the base and seeding URLs is sent as Basic
authentication, credential-like query parameters are sent as given, and neither appears in any
output (console, every report, curl lines), even where the target echoes them back.

The end-to-end runs need session.py to hand the run's settings to the client
(ClientSettings.of) and its URLs to the redactor (Redactor.for_settings).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from tests_support import closed_port, run_cli_in_process

from jobs_conformance.contract import load_contract
from jobs_conformance.redact import basic_credentials
from jobs_conformance.reference.app import SEED_PATH
from jobs_conformance.reference.server import ReferenceServer

pytest_plugins = ["pytester"]

KEY = "reference-key-0d1e2f"
BASE_PASSWORD = "pa:ss@SECRET-base-7f3e"
BASE_QUERY_KEY = "SECRET-query-91ab"
SEED_PASSWORD = "SECRET-seed-5d2c"
SEED_TOKEN = "SECRET-seedtoken-0c4e"
BASE_BASIC = basic_credentials("alice", BASE_PASSWORD)
SEED_BASIC = basic_credentials("seeder", SEED_PASSWORD)


class _BasicAndQueryGate:
    """WSGI middleware: the reference's key only for requests carrying the expected Basic
    credentials and query credential (so a run passes only if they arrive); records every
    request; a malformed id is answered 500 with the credentials echoed (a failing requirement
    whose evidence, request and curl line included, goes into every report)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.seen: list[tuple[str, str, dict[str, list[str]], str | None]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path, query = environ["PATH_INFO"], parse_qs(environ.get("QUERY_STRING", ""))
        authorization = environ.pop("HTTP_AUTHORIZATION", None)
        with self._lock:
            self.seen.append((environ["REQUEST_METHOD"], path, query, authorization))
        environ.pop("HTTP_X_API_KEY", None)
        seeding = SEED_PATH in path
        expected = (
            (SEED_BASIC, "token", SEED_TOKEN)
            if seeding
            else (BASE_BASIC, "api_key", BASE_QUERY_KEY)
        )
        if authorization == expected[0] and query.get(expected[1]) == [expected[2]]:
            environ["HTTP_X_API_KEY"] = KEY
        segment = unquote(path.rsplit("/", 1)[-1])
        if not seeding and not load_contract().path_pattern.search(segment):
            echo = f"rejected {BASE_PASSWORD} {BASE_QUERY_KEY} {authorization}"
            start_response(
                "500 Internal Server Error",
                [("Content-Type", "text/plain"), ("X-Echo", quote(echo, safe=" :@"))],
            )
            return [echo.encode()]
        return self.app(environ, start_response)


def _in(url: str, user: str, password: str, query: str) -> str:
    return url.replace("://", f"://{user}:{quote(password, safe='')}@", 1) + query


def test_url_credentials_are_sent_and_never_shown(pytester, tmp_path):
    server = ReferenceServer(api_key=KEY, allow_seeding=True)
    gate = _BasicAndQueryGate(server.app)
    server.app = gate
    report_dir = tmp_path / "r"
    with server:
        base = _in(server.base_url, "alice", BASE_PASSWORD, f"?api_key={BASE_QUERY_KEY}&tenant=t1")
        seed = _in(server.base_url + SEED_PATH, "seeder", SEED_PASSWORD, f"?token={SEED_TOKEN}")
        code, report, out, err = run_cli_in_process(
            pytester,
            "--base-url",
            base,
            "--seed-url",
            seed,
            "--auth-header",
            "Authorization",
            report_dir=report_dir,
        )
    statuses = {row["id"]: row["status"] for row in report["requirements"]}
    # Only the malformed-id answers (500, by design) fail: authentication and
    # seeding passed, so the credentials arrived where each belongs.
    assert code == 1, out + err
    assert {r for r, s in statuses.items() if s == "fail"} == {"http.malformed-4xx"}, statuses
    assert statuses["auth.required"] == statuses["seed.round-trip"] == "pass"
    reads = [s for s in gate.seen if s[0] == "GET"]
    seeds = [s for s in gate.seen if s[0] == "PUT"]
    assert seeds and all(s[3] == SEED_BASIC and s[2]["token"] == [SEED_TOKEN] for s in seeds)
    assert all(s[2]["api_key"] == [BASE_QUERY_KEY] and s[2]["tenant"] == ["t1"] for s in reads)
    assert sum(s[3] == BASE_BASIC for s in reads) > len(reads) // 2
    files = {p.name: p.read_text(encoding="utf-8") for p in report_dir.iterdir()}
    assert {
        "conformance.json",
        "junit.xml",
        "conformance.html",
        "conformance.md",
        "badge.svg",
    } <= set(files)
    leaks = ["SECRET", BASE_BASIC.split()[1], SEED_BASIC.split()[1], quote(BASE_PASSWORD, safe="")]
    for secret in leaks:
        assert secret not in out and secret not in err, secret
        for name, text in files.items():
            assert secret not in text, f"{secret} in {name}"
    assert report["target"].startswith("http://[REDACTED]@127.0.0.1:")
    assert report["target"].endswith("?api_key=[REDACTED]&tenant=t1")
    assert "target   http://[REDACTED]@127.0.0.1:" in out
    # The reproduction leaves placeholders for the user to fill in.
    assert "-u USER:PASSWORD" in files["conformance.md"]
    assert "api_key=[REDACTED]&tenant=t1" in files["conformance.md"]
    example = next(r for r in report["requirements"] if r["status"] == "fail")["counterexamples"][0]
    assert json.dumps(example["request"]).count("[REDACTED]") >= 2


def test_an_unreachable_target_with_credentials_is_one_line_without_them(pytester, tmp_path):
    port = closed_port()
    code, report, out, err = run_cli_in_process(
        pytester,
        "--base-url",
        f"http://alice:{quote(BASE_PASSWORD, safe='')}@127.0.0.1:{port}/api/v2?token={BASE_QUERY_KEY}",
        "--timeout",
        "2",
        report_dir=tmp_path / "r",
    )
    assert code == 2, out + err
    assert f"jobs-conformance: cannot connect to http://127.0.0.1:{port}:" in out
    assert "Traceback" not in out + err
    assert "SECRET" not in out + err + json.dumps(report)


def test_a_usage_error_echoing_a_url_hides_its_credentials(pytester, tmp_path):
    code, _, out, err = run_cli_in_process(
        pytester,
        "--base-url",
        f"ftp://alice:{SEED_PASSWORD}@h/api?api_key={BASE_QUERY_KEY}",
        report_dir=tmp_path / "r",
    )
    assert code == 4, out + err
    assert "--base-url: 'ftp://[REDACTED]@h/api?api_key=[REDACTED]'" in out + err
    assert "SECRET" not in out + err
