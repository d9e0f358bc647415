"""--proxy: every request goes through the configured proxy (CONNECT for https targets), with
the proxy's credentials from its URL and never shown; a proxy that is not there is a
one-line exit 2. The end-to-end runs need session.py to use ClientSettings.of."""

from __future__ import annotations

import ssl

import pytest
import trustme
from hostile import https_target
from tests_support import closed_port, run_cli_in_process

from jobs_conformance.redact import basic_credentials
from jobs_conformance.reference.server import ReferenceServer

from .conftest import Recording
from .forward_proxy import ForwardProxy

pytest_plugins = ["pytester"]

KEY = "proxy-test-key-4c5d"
PROXY_PASSWORD = "SECRET-proxy-6a7b"
PROXY_AUTH = basic_credentials("pu", PROXY_PASSWORD)


def _proxy_url(proxy: ForwardProxy) -> str:
    return proxy.url.replace("://", f"://pu:{PROXY_PASSWORD}@")


def _no_leak(out: str, err: str, report_dir) -> None:
    for secret in ("SECRET", PROXY_AUTH.split()[1]):
        assert secret not in out + err
        for path in report_dir.iterdir():
            assert secret not in path.read_text(encoding="utf-8"), path.name


def test_an_http_target_is_reached_only_through_the_proxy(pytester, tmp_path):
    server = ReferenceServer(api_key=KEY)
    recorder = Recording(server.app)
    server.app = recorder
    with server, ForwardProxy(authorization=PROXY_AUTH) as proxy:
        code, report, out, err = run_cli_in_process(
            pytester,
            "--base-url",
            server.base_url,
            "--header",
            f"X-Api-Key: {KEY}",
            "--proxy",
            _proxy_url(proxy),
            report_dir=tmp_path / "r",
        )
    assert code == 0, out + err
    assert len(proxy.asked) == len(recorder.seen) == report["requests_sent"] > 50
    assert all(a.target.startswith(server.base_url + "/jobs/") for a in proxy.asked)
    assert all(a.headers["Proxy-Authorization"] == PROXY_AUTH for a in proxy.asked)
    _no_leak(out, err, tmp_path / "r")


@pytest.fixture
def tls_target(tmp_path):
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with https_target(context) as (port, seen):
        yield port, bundle, seen


def test_an_https_target_is_tunnelled_through_the_proxy_with_connect(
    pytester, tmp_path, tls_target
):
    port, bundle, seen = tls_target
    with ForwardProxy(authorization=PROXY_AUTH) as proxy:
        code, report, out, err = run_cli_in_process(
            pytester,
            "--base-url",
            f"https://127.0.0.1:{port}/api/v2",
            "--ca-bundle",
            str(bundle),
            report_dir=tmp_path / "r",
            env={"JOBS_CONFORMANCE_PROXY": _proxy_url(proxy)},
        )
    assert code == 0, out + err
    assert report["requests_sent"] == len(seen) > 20
    assert proxy.asked and {a.method for a in proxy.asked} == {"CONNECT"}
    assert {a.target for a in proxy.asked} == {f"127.0.0.1:{port}"}
    assert all(a.headers["Proxy-Authorization"] == PROXY_AUTH for a in proxy.asked)
    _no_leak(out, err, tmp_path / "r")


def test_no_proxy_listening_is_exit_2_with_one_clear_line(pytester, tmp_path):
    port = closed_port()
    code, report, out, err = run_cli_in_process(
        pytester,
        "--base-url",
        "http://127.0.0.1:9/api/v2",
        "--proxy",
        f"http://pu:{PROXY_PASSWORD}@127.0.0.1:{port}",
        report_dir=tmp_path / "r",
    )
    assert code == 2, out + err
    (line,) = [line for line in out.splitlines() if line.startswith("jobs-conformance: ")]
    assert line.startswith(
        f"jobs-conformance: cannot connect to http://127.0.0.1:9 through the proxy "
        f"http://127.0.0.1:{port}: "
    ), out
    assert "refused" in line
    assert "Traceback" not in out + err and "SECRET" not in out + err
    assert report["verdict"] == "incomplete"
