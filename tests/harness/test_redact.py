"""The redaction rules (redact.py), as data: what a URL, a header or a query parameter shows."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jobs_conformance.redact import (
    BASIC_MARKER,
    MARKER,
    Redactor,
    basic_credentials,
    is_sensitive_query,
    recorded_secrets,
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
    # RFC 3986 section 4.2; the WHATWG URL Standard's special schemes; curl's bare proxy.
    ("scheme-relative", "//bob:SEKRIT04pw@h/api/v2/jobs/1", f"//{MARKER}@h/api/v2/jobs/1"),
    ("scheme-relative, quoted", "url '//bob:pw@h/x'", f"url '//{MARKER}@h/x'"),
    ("scheme-relative after =", "/login?next=//bob:pw@h/x", f"/login?next=//{MARKER}@h/x"),
    ("a path's // is not scheme-relative", "http://h/a//b@c/d", "http://h/a//b@c/d"),
    ("an upper-case scheme", "HTTPS://u:pw@h/", f"HTTPS://{MARKER}@h/"),
    ("no slashes after http:", "http:bob:p:w@h/x", f"http:{MARKER}@h/x"),
    ("one slash after https:", "https:/bob:pw@h/x", f"https:/{MARKER}@h/x"),
    ("backslashes after http:", "http:\\\\bob:pw@h\\x", f"http:\\\\{MARKER}@h\\x"),
    ("no scheme, then a path", "GET bob:pw@h/api/v2", f"GET {MARKER}@h/api/v2"),
    ("no scheme, then a port", "proxy bob:pw@proxy:3128", f"proxy {MARKER}@proxy:3128"),
    ("mailto: is an e-mail address", "mailto:ops@example.org", "mailto:ops@example.org"),
    ("a label then an address", "Contact:ops@example.org.", "Contact:ops@example.org."),
    ("an image digest", "nginx:1.25@sha256:ab12", "nginx:1.25@sha256:ab12"),
    ("a time", "back at 10:30@home", "back at 10:30@home"),
    ("compact JSON", '{"a":"http://h","b":"x@y"}', '{"a":"http://h","b":"x@y"}'),
    # RFC 3986 section 3.2.1: sub-delims, an apostrophe among them, are user-info.
    ("an apostrophe in the password", "http://carol:pa'SEKRIT06@h/x", f"http://{MARKER}@h/x"),
    # RFC 6749 section 4.2.2: the implicit flow's tokens come in the fragment.
    (
        "tokens in the fragment",
        "http://h/jobs/1#access_token=SEKRIT05&state=xyz&id_token=e.y.J",
        f"http://h/jobs/1#access_token={MARKER}&state=xyz&id_token={MARKER}",
    ),
    ("a fragment after the query", "http://h/?a=1#token=t", f"http://h/?a=1#token={MARKER}"),
    # RFC 3986 section 3.4: a value runs to the next "&" (or the fragment's "#").
    ("an apostrophe in a value", "http://h/?token=abc'SEKRIT07", f"http://h/?token={MARKER}"),
    ("a ; in a value", "http://h/?token=abc;SEKRIT08&a=1", f"http://h/?token={MARKER}&a=1"),
    ("a ; before a name", "http://h/?a=1;token=xyz", f"http://h/?a=1;token={MARKER}"),
    (
        "a token after another value's ?",
        "http://h/?next=/x?token=t",
        f"http://h/?next=/x?token={MARKER}",
    ),
    # An apostrophe ending a value, before a space or closing punctuation, is a quote.
    ("shell-quoted", "curl 'http://h/?token=abc' -i", f"curl 'http://h/?token={MARKER}' -i"),
    ("in a Python tuple", "('http://h/?token=abc',)", f"('http://h/?token={MARKER}',)"),
    ("quoted at a sentence's end", "see 'http://h/?key=abc'.", f"see 'http://h/?key={MARKER}'."),
    (
        "shlex.quote's apostrophe in the user-info",
        """curl 'http://carol:pa'"'"'SEKRIT06@h/x'""",
        f"curl 'http://{MARKER}@h/x'",
    ),
    (
        "shlex.quote's apostrophe in a value",
        """curl 'http://h/?token=abc'"'"'SEKRIT07'""",
        f"curl 'http://h/?token={MARKER}'",
    ),
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


# RFC 3986 section 2: what a user-info or a query value may hold as written.
_UNRESERVED = "ABCXYZabcxyz0189-._~"
_SUB_DELIMS = "!$&'()*+,;="
_PERCENT_ENCODED = st.sampled_from(["%20", "%40", "%2F", "%3a", "%25", "%27"])


def _made_of(alphabet: str) -> st.SearchStrategy[str]:
    """Non-empty strings of ``alphabet`` and percent-encodings; shrinks toward ``"A"``."""
    return st.lists(
        st.one_of(st.sampled_from(alphabet), _PERCENT_ENCODED), min_size=1, max_size=24
    ).map("".join)


# userinfo = *( unreserved / pct-encoded / sub-delims / ":" ), section 3.2.1
_USERINFOS = _made_of(_UNRESERVED + _SUB_DELIMS + ":")
# a query or fragment value: pchar / "/" / "?" (sections 3.4, 3.5), but "&" and "#"
_VALUES = _made_of(_UNRESERVED + _SUB_DELIMS.replace("&", "") + ":@/?")
_PREFIXES = st.sampled_from(["http://", "HTTPS://", "//", "ws://", "git+ssh://"])


@given(_PREFIXES, _USERINFOS)
@example("http://", "carol:pa'SEKRIT06")
@example("//", "bob:SEKRIT04pw")
def test_any_user_info_is_hidden_whole(prefix, secret):
    url = f"{prefix}{secret}@h/api/v2/jobs/1?a=1"
    assert redact_url(url) == f"{prefix}{MARKER}@h/api/v2/jobs/1?a=1"


@given(
    st.sampled_from(["http:", "https:/", "ftp:\\\\", ""]),
    # "bob:" and the password's colons: as many as the forms without "//" read.
    _made_of(_UNRESERVED + _SUB_DELIMS + ":").filter(lambda p: p.count(":") < 16),
)
@example("http:", "a:b:c:d:e:f")
@example("", "a:b:c:d:e:f")
def test_a_user_name_and_password_are_hidden_in_the_forms_without_two_slashes(prefix, password):
    url = f"{prefix}bob:{password}@h/api/v2/jobs/1"
    assert redact_url(url) == f"{prefix}{MARKER}@h/api/v2/jobs/1"


@given(st.sampled_from(["?", "?a=1&", "?a=1;", "#", "?a=1#"]), _VALUES)
@example("?", "abc'SEKRIT07")
@example("#", "SEKRIT05")
def test_any_credential_value_is_hidden_to_its_end(before, secret):
    for name in ("token", "access_token", "api_key", "password"):
        url = f"http://h/jobs/1{before}{name}={secret}&page=2"
        assert redact_url(url) == f"http://h/jobs/1{before}{name}={MARKER}&page=2"


@given(_USERINFOS, _VALUES)
@example("carol:pa'SEKRIT06", "abc'SEKRIT07")
def test_a_curl_line_shows_no_secret_and_stays_a_valid_command(password, value):
    url = f"http://{password}@h/jobs/1?token={value}&page=2"
    shown = redact_url(url)
    assert shown == f"http://{MARKER}@h/jobs/1?token={MARKER}&page=2"
    # As reports build it: from the redacted URL, then redacted again as text.
    line = curl_command({"method": "GET", "url": shown, "headers": {}})
    assert (
        redact_url(line)
        == line
        == "curl -i -g -X GET -u USER:PASSWORD "
        + shlex.quote(f"http://h/jobs/1?token={MARKER}&page=2")
    )
    # A line quoted from the URL as recorded, redacted as text: balanced, and hiding both.
    assert shlex.split(redact_url(curl_command({"url": url, "headers": {}})))[-1] == shown


def test_a_recorded_requests_secrets_hide_what_the_response_echoes():
    url = "http://bob:pw-SEKRIT11@h/jobs/1?password=SEKRIT12&page=2#id_token=SEKRIT13"
    headers = [
        ("Authorization", "Bearer SEKRIT19"),
        ("X-Api-Key", "k-SEKRIT20"),
        ("Proxy-Authorization", basic_credentials("proxy-user", "SEKRIT21")),
        ("Cookie", "session=SEKRIT22xx"),
        ("Accept", "application/json"),
    ]
    secrets = recorded_secrets(url, headers)
    echoed = (
        '{"echo": "SEKRIT19 k-SEKRIT20 proxy-user:SEKRIT21 SEKRIT22xx",'
        ' "query": "SEKRIT12", "fragment": "SEKRIT13", "password": "pw-SEKRIT11"}'
    )
    shown = Redactor(secrets).text(echoed)
    assert "SEKRIT" not in shown
    assert "application/json" not in secrets
    # "Bearer X" gives X however short; a recording with no credential gives none.
    assert "tok1" in recorded_secrets(None, [("Authorization", "Bearer tok1")])
    assert recorded_secrets("http://h/jobs/1?page=2", [("Accept", "*/*")]) == []


def test_a_urls_fragment_secrets_are_known_too():
    assert {"SEKRIT05", "a b"} <= set(url_secrets("http://h/x#access_token=SEKRIT05&jwt=a+b"))


def test_a_bearer_token_is_hidden_whatever_header_carries_it():
    redactor = Redactor()
    assert redactor.header("X-Gateway-Auth", "Bearer abc.def") == MARKER
    assert redactor.header("X-Custom", "bearer SEKRIT09") == MARKER
    # Not a scheme and its credential: left as it is.
    assert redactor.header("X-Note", "Bearers of news") == "Bearers of news"
