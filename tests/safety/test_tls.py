"""TLS: certificates are verified by default, --ca-bundle trusts a private CA, --insecure only when asked."""

from __future__ import annotations

import hashlib
import ssl

import pytest
import trustme
from hostile import https_target
from tests_support import run_cli_in_process

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def tls_target(tmp_path_factory):
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with https_target(context) as (port, _):
        yield f"https://127.0.0.1:{port}/api/v2", bundle, certificate


def test_an_untrusted_certificate_is_refused_by_default(pytester, tmp_path, tls_target):
    url, _, _ = tls_target
    code, report, out, err = run_cli_in_process(
        pytester, "--base-url", url, report_dir=tmp_path / "r"
    )
    assert code == 2
    assert "TLS failed" in out + err and "certificate verify failed" in out + err
    assert report["verdict"] == "incomplete"


def test_ca_bundle_trusts_a_private_ca(pytester, tmp_path, tls_target):
    url, bundle, certificate = tls_target
    code, report, out, err = run_cli_in_process(
        pytester, "--base-url", url, "--ca-bundle", str(bundle), report_dir=tmp_path / "r"
    )
    assert code == 0, out + err
    assert report["verdict"] == "pass"
    assert "warning" not in err.lower()
    # What was tested: the leaf certificate the target presented.
    leaf = ssl.PEM_cert_to_DER_cert(certificate.cert_chain_pems[0].bytes().decode())
    assert report["target_identity"]["tls_sha256"] == [hashlib.sha256(leaf).hexdigest()]


def test_insecure_works_only_with_a_warning(pytester, tmp_path, tls_target):
    url, _, _ = tls_target
    code, _, out, err = run_cli_in_process(
        pytester, "--base-url", url, "--insecure", report_dir=tmp_path / "r"
    )
    assert code == 0, out + err
    assert "NOT verified" in err
    assert err.count("InsecureRequestWarning") == 0
