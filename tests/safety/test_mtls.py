"""--client-cert/--client-key: a target that requires a client certificate passes with one,
and without one is a one-line exit 2 that says what may be missing. The passing run needs
session.py to use ClientSettings.of."""

from __future__ import annotations

import ssl

import pytest
import trustme
from hostile import https_target
from tests_support import run_cli_in_process

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def mtls_target(tmp_path_factory):
    """An https server that requires a client certificate from its CA; the CA bundle and a
    client certificate and key (in two files) for it."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    folder = tmp_path_factory.mktemp("mtls")
    client = ca.issue_cert("conformance@example.org")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(folder / "client.pem"))
    client.private_key_pem.write_to_path(str(folder / "client.key"))
    with https_target(context) as (port, _):
        yield f"https://127.0.0.1:{port}/api/v2", folder


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
