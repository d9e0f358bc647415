"""--client-cert/--client-key: a target that requires a client certificate passes with one,
and without one is a one-line exit 2 that says what may be missing. The passing run needs
session.py to use ClientSettings.of."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest
import trustme
from tests_support import run_cli_in_process

from jobs_conformance.contract import load_contract

pytest_plugins = ["pytester"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        segment = unquote(self.path.rsplit("/jobs/", 1)[-1])
        status = 404 if load_contract().path_pattern.search(segment) else 400
        body = json.dumps({"error": "no"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def mtls_target(tmp_path_factory):
    """An https server that requires a client certificate from its CA; the CA bundle and a
    client certificate and key (in two files) for it."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    folder = tmp_path_factory.mktemp("mtls")
    client = ca.issue_cert("conformance@example.org")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(folder / "client.pem"))
    client.private_key_pem.write_to_path(str(folder / "client.key"))
    yield f"https://127.0.0.1:{server.server_address[1]}/api/v2", folder
    server.shutdown()
    server.server_close()


def test_with_the_client_certificate_the_run_passes(pytester, tmp_path, mtls_target):
    url, pems = mtls_target
    code, report, out, err = run_cli_in_process(
        pytester,
        "--base-url",
        url,
        "--ca-bundle",
        str(pems / "ca.pem"),
        "--client-cert",
        str(pems / "client.pem"),
        "--client-key",
        str(pems / "client.key"),
        report_dir=tmp_path / "r",
    )
    assert code == 0, out + err
    assert report["verdict"] == "pass"


def test_without_it_the_run_is_exit_2_with_one_clear_line(pytester, tmp_path, mtls_target):
    url, pems = mtls_target
    code, report, out, err = run_cli_in_process(
        pytester, "--base-url", url, "--ca-bundle", str(pems / "ca.pem"), report_dir=tmp_path / "r"
    )
    assert code == 2, out + err
    (line,) = [line for line in out.splitlines() if line.startswith("jobs-conformance: ")]
    origin = url.rsplit("/api/v2", 1)[0]
    assert line.startswith(f"jobs-conformance: TLS failed for {origin}: "), out
    assert line.endswith("(if it requires a client certificate: --client-cert)")
    assert "Traceback" not in out + err
    assert report["verdict"] == "incomplete"
