"""The redaction rules (redact.py), as data: what a URL, a header or a query parameter shows."""

from __future__ import annotations

import pytest

from jobs_conformance.redact import (
    BASIC_MARKER,
    MARKER,
    Redactor,
    basic_credentials,
    is_sensitive_query,
    redact_url,
    url_secrets,
    userinfo,
    without_userinfo,
)
from jobs_conformance.render import curl_command

# (description, text, what it must show)
URLS = [
    ("user and password", "https://u:pw@h/api", f"https://{MARKER}@h/api"),
    ("a user alone (a token as user name)", "https://tok3n@h/", f"https://{MARKER}@h/"),
    ("a raw @ in the password", "http://u:p@ss@h:80/x", f"http://{MARKER}@h:80/x"),
    (
        "inside a sentence",
        "cannot reach http://u:pw@h/x: refused",
        f"cannot reach http://{MARKER}@h/x: refused",
    ),
    ("api_key", "http://h/x?api_key=abc&tenant=t1", f"http://h/x?api_key={MARKER}&tenant=t1"),
    (
        "apikey, then token",
        "http://h/?a=1&apikey=k&token=t",
        f"http://h/?a=1&apikey={MARKER}&token={MARKER}",
    ),
    ("key alone", "http://h/?key=AIzaSy", f"http://h/?key={MARKER}"),
    ("access_token", "http://h/?access_token=x.y.z", f"http://h/?access_token={MARKER}"),
    ("Azure's sig", "http://h/b?sv=2020&sig=abc%2Bdef", f"http://h/b?sv=2020&sig={MARKER}"),
    (
        "AWS's credential and signature",
        "http://h/?X-Amz-Credential=AK%2F1&X-Amz-Signature=f00",
        f"http://h/?X-Amz-Credential={MARKER}&X-Amz-Signature={MARKER}",
    ),
    (
        "password, pwd, secret, jwt, auth",
        "http://h/?password=a&pwd=b&secret=c&jwt=d&auth=e",
        f"http://h/?password={MARKER}&pwd={MARKER}&secret={MARKER}&jwt={MARKER}&auth={MARKER}",
    ),
    ("a percent-encoded name", "http://h/?api%5Fkey=abc", f"http://h/?api%5Fkey={MARKER}"),
    ("in JSON text", '{"url": "http://h/?token=abc"}', f'{{"url": "http://h/?token={MARKER}"}}'),
    (
        "ordinary names keep their values",
        "http://h/?page=2&design=x&signal=y&q=key",
        "http://h/?page=2&design=x&signal=y&q=key",
    ),
    ("an e-mail address is no user-info", "write to ops@example.org", "write to ops@example.org"),
    ("a URL without credentials", "http://127.0.0.1:8080/api/v2", "http://127.0.0.1:8080/api/v2"),
]


@pytest.mark.parametrize(("text", "shown"), [c[1:] for c in URLS], ids=[c[0] for c in URLS])
def test_urls_show_no_credentials(text, shown):
    assert redact_url(text) == shown
    assert Redactor().text(text) == shown


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("api_key", True), ("apikey", True), ("key", True), ("token", True),
        ("access_token", True), ("secret", True), ("password", True), ("sig", True),
        ("signature", True), ("auth", True), ("X-Goog-Credential", True), ("session_id", True),
        ("q", False), ("page", False), ("design", False), ("tenant", False), ("id", False),
    ],
)  # fmt: skip
def test_which_query_names_are_credentials(name, sensitive):
    assert is_sensitive_query(name) is sensitive


def test_user_info_is_percent_decoded_and_sent_as_curl_sends_it():
    url = "https://al%40ice:p%3Ass%2Fw@h:8443/api?x=1"
    assert userinfo(url) == ("al@ice", "p:ss/w")
    assert userinfo("https://h/api") is None
    assert without_userinfo(url) == "https://h:8443/api?x=1"
    # RFC 7617: base64 of user ":" password; curl -u 'al@ice:p:ss/w' sends the same.
    assert basic_credentials("al@ice", "p:ss/w") == "Basic YWxAaWNlOnA6c3Mvdw=="


def test_a_urls_secrets_are_known_as_written_and_decoded():
    secrets = url_secrets("https://u:p%40ssword@h/?api_key=k%2By-123&page=2")
    assert {"p%40ssword", "p@ssword", "k%2By-123", "k+y-123"} <= set(secrets)
    assert basic_credentials("u", "p@ssword")[len("Basic ") :] in secrets
    assert "2" not in secrets and url_secrets(None) == []


def test_a_runs_redactor_hides_what_a_target_echoes_of_its_url_credentials():
    class _Settings:
        base_url = "https://u:base-pass-1@h/api?token=tok-2222"
        seed_url = "https://s:seed-pass-3@h/seed"
        proxy = "http://p:proxy-pass-4@proxy:3128"

    redactor = Redactor.for_settings(_Settings(), {"X-Api-Key": "key-5555"})  # type: ignore[arg-type]
    echoed = "saw base-pass-1 tok-2222 seed-pass-3 proxy-pass-4 key-5555 " + basic_credentials(
        "p", "proxy-pass-4"
    )
    shown = redactor.text(echoed)
    for secret in ("base-pass-1", "tok-2222", "seed-pass-3", "proxy-pass-4", "key-5555"):
        assert secret not in shown
    assert basic_credentials("p", "proxy-pass-4")[6:] not in shown


def test_a_basic_header_keeps_its_scheme_other_credentials_do_not():
    redactor = Redactor()
    assert redactor.header("Authorization", "Basic dTpw") == BASIC_MARKER
    assert redactor.header("Authorization", "Bearer abc") == MARKER
    assert redactor.header("X-Api-Key", "basic-looking") == MARKER


def test_curl_reproductions_leave_placeholders_to_fill_in():
    in_url = curl_command(
        {"method": "PUT", "url": f"http://{MARKER}@h/seed/1?token={MARKER}", "headers": {}}
    )
    assert in_url == f"curl -i -g -X PUT -u USER:PASSWORD 'http://h/seed/1?token={MARKER}'"
    in_header = curl_command(
        {"method": "GET", "url": "http://h/jobs/1", "headers": {"Authorization": BASIC_MARKER}}
    )
    assert in_header == "curl -i -X GET -u USER:PASSWORD http://h/jobs/1"


def test_a_configured_header_is_hidden_where_it_is_sent_however_short():
    redactor = Redactor.for_headers({"X-Request-Id": "abc", "X-Tenant": "t-1234567"})
    assert dict(redactor.headers({"X-Request-Id": "abc", "x-tenant": "t-1234567"})) == {
        "X-Request-Id": MARKER,
        "x-tenant": MARKER,
    }
    # In free text only values long enough not to blank out ordinary words.
    assert redactor.text("abc t-1234567") == f"abc {MARKER}"
    assert dict(redactor.headers({"Accept": "abc"})) == {"Accept": "abc"}
