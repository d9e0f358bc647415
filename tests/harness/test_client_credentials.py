"""What the client puts on the wire for credentials in URLs, and through a proxy: user-info as
Basic authentication and never in a request line, query credentials sent but recorded redacted,
environment proxies ignored."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hostile import HostileServer, json_404
from safety.forward_proxy import ForwardProxy
from tests_support import closed_port

from jobs_conformance.client import Client, ClientSettings
from jobs_conformance.errors import TargetUnreachable
from jobs_conformance.redact import BASIC_MARKER, basic_credentials

HELD = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
PASSWORD = "pa:ss@w0rd-71c3"
TOKEN = "qtok-5e9d2f"


def _with_userinfo(url: str, user: str, password: str) -> str:
    quoted = password.replace("%", "%25").replace(":", "%3A").replace("@", "%40")
    return url.replace("://", f"://{user}:{quoted}@", 1)


def test_base_url_user_info_is_basic_authorization_and_its_query_follows_every_id():
    with HostileServer(json_404) as target:
        base = _with_userinfo(target.base_url, "alice", PASSWORD) + f"?api_key={TOKEN}&tenant=t1"
        client = Client(ClientSettings(base_url=base))
        record, _ = client.get_job(HELD)
        client.get_job(HELD, headers={"X-Other": "1"})  # a probe's own headers: no credentials
        client.close()
    configured, probe = target.seen
    assert configured.path == f"/api/v2/jobs/{HELD}?api_key={TOKEN}&tenant=t1"
    assert configured.headers["authorization"] == basic_credentials("alice", PASSWORD)
    assert "authorization" not in probe.headers
    assert probe.path.endswith(f"?api_key={TOKEN}&tenant=t1")
    # What is kept of the request shows neither.
    assert record.url.endswith(f"/jobs/{HELD}?api_key=[REDACTED]&tenant=t1")
    assert dict(record.headers)["Authorization"] == BASIC_MARKER
    assert PASSWORD not in repr(record) and TOKEN not in repr(record)


def test_a_seeding_url_brings_its_own_credentials_and_query():
    with HostileServer(json_404) as target:
        seed = (
            _with_userinfo(target.base_url, "seeder", "seed-pw-88") + "/__seed/jobs?token=st-1234"
        )
        client = Client(
            ClientSettings(
                base_url=target.base_url, headers={"Authorization": "Bearer base"}, seed_url=seed
            )
        )
        record, _ = client.send(
            "PUT", f"{seed}/{HELD}", headers=client.settings.headers, body=b"{}", seeding=True
        )
        client.close()
    (seen,) = target.seen
    assert seen.method == "PUT"
    assert seen.path == f"/api/v2/__seed/jobs/{HELD}?token=st-1234"
    assert seen.headers["authorization"] == basic_credentials("seeder", "seed-pw-88")
    assert "seed-pw-88" not in repr(record) and "st-1234" not in repr(record)


def test_proxy_environment_variables_are_never_read(monkeypatch):
    with ForwardProxy() as proxy, HostileServer(json_404) as target:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = Client(ClientSettings(base_url=target.base_url))
        client.get_job(HELD)
        client.close()
    assert proxy.asked == [] and len(target.seen) == 1


def test_a_proxy_gets_its_credentials_and_absolute_urls_without_user_info():
    proxy_auth = basic_credentials("pu", "proxy-pw-42")
    with ForwardProxy(authorization=proxy_auth) as proxy, HostileServer(json_404) as target:
        base_url = target.base_url
        client = Client(
            ClientSettings(
                base_url=_with_userinfo(target.base_url, "alice", PASSWORD),
                proxy=_with_userinfo(proxy.url, "pu", "proxy-pw-42"),
            )
        )
        _, response = client.get_job(HELD)
        client.close()
    assert response.status == 404
    (asked,) = proxy.asked
    assert asked.target == f"{base_url}/jobs/{HELD}"
    assert asked.headers["Proxy-Authorization"] == proxy_auth
    assert "proxy-authorization" not in target.seen[0].headers
    assert target.seen[0].headers["authorization"] == basic_credentials("alice", PASSWORD)


def test_no_proxy_listening_is_unreachable_in_one_line_without_credentials():
    port = closed_port()
    client = Client(
        ClientSettings(
            base_url="http://127.0.0.1:9/api", proxy=f"http://u:pxy-9999@127.0.0.1:{port}"
        )
    )
    with pytest.raises(TargetUnreachable) as raised:
        client.get_job(HELD)
    message = str(raised.value)
    assert message.startswith(
        f"cannot connect to http://127.0.0.1:9 through the proxy http://127.0.0.1:{port}"
    )
    assert "pxy-9999" not in message and "\n" not in message


def test_a_proxy_asking_for_credentials_is_unreachable_not_the_targets_answer():
    with ForwardProxy(authorization="Basic x") as proxy:
        client = Client(ClientSettings(base_url="http://127.0.0.1:9/api", proxy=proxy.url))
        with pytest.raises(TargetUnreachable, match=r"requires credentials \(407\)"):
            client.get_job(HELD)
    assert urlsplit(proxy.asked[0].target).hostname == "127.0.0.1"
