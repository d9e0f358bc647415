"""TLS: certificates are verified by default, --ca-bundle trusts a private CA, --insecure only when asked."""

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
    # Head and body go out in two writes; with Nagle on, each keep-alive
    # response would wait for the client's delayed ACK (about 40 ms).
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
def tls_target(tmp_path_factory):
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    yield f"https://127.0.0.1:{server.server_address[1]}/api/v2", bundle
    server.shutdown()
    server.server_close()


def test_an_untrusted_certificate_is_refused_by_default(pytester, tmp_path, tls_target):
    url, _ = tls_target
    code, report, out, err = run_cli_in_process(
        pytester, "--base-url", url, report_dir=tmp_path / "r"
    )
    assert code == 2
    assert "TLS failed" in out + err and "certificate verify failed" in out + err
    assert report["verdict"] == "incomplete"


def test_ca_bundle_trusts_a_private_ca(pytester, tmp_path, tls_target):
    url, bundle = tls_target
    code, report, out, err = run_cli_in_process(
        pytester, "--base-url", url, "--ca-bundle", str(bundle), report_dir=tmp_path / "r"
    )
    assert code == 0, out + err
    assert report["verdict"] == "pass"
    assert "warning" not in err.lower()


def test_insecure_works_only_with_a_warning(pytester, tmp_path, tls_target):
    url, _ = tls_target
    code, _, out, err = run_cli_in_process(
        pytester, "--base-url", url, "--insecure", report_dir=tmp_path / "r"
    )
    assert code == 0, out + err
    assert "NOT verified" in err
    assert err.count("InsecureRequestWarning") == 0
