"""The credential, proxy and client-certificate settings: resolved, handed to the client,
and refused early with the option named as the user spelt it, never echoing a secret."""

from __future__ import annotations

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from jobs_conformance.client import ClientSettings
from jobs_conformance.errors import UsageError
from jobs_conformance.redact import basic_credentials
from jobs_conformance.settings import option, resolve

SECRET = "s3cret-9a8b7c"


def _resolve(given, *, environ=None, spelling=lambda o: o.cli_flag):
    return resolve(given, environ=environ or {}, ini=lambda entry: None, spelling=spelling)


def test_the_base_urls_user_info_becomes_basic_authorization_and_the_url_is_kept():
    settings = _resolve({"base_url": f"https://al%40ice:{SECRET}@h/api/v2?api_key=k-1234"})
    assert settings.headers == {"Authorization": basic_credentials("al@ice", SECRET)}
    assert settings.base_url == f"https://al%40ice:{SECRET}@h/api/v2?api_key=k-1234"


def test_user_info_and_an_authorization_header_together_are_a_usage_error():
    with pytest.raises(UsageError) as raised:
        _resolve({"base_url": f"https://u:{SECRET}@h/api", "header": ["authorization: Bearer x"]})
    assert raised.value.argument == "--base-url"
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("dest", "value"),
    [
        ("base_url", f"ftp://u:{SECRET}@h/api"),
        ("base_url", f"http://u:{SECRET}@h:99999/api"),
        ("seed_url", f"mailto://u:{SECRET}@h?token={SECRET}"),
        ("proxy", f"https://u:{SECRET}@proxy:3128"),
        ("proxy", f"socks5://u:{SECRET}@proxy:1080"),
    ],
)
@pytest.mark.parametrize(
    "spelling", [lambda o: o.cli_flag, lambda o: o.pytest_flag], ids=["cli", "pytest"]
)
def test_a_bad_url_is_a_usage_error_that_never_shows_its_credentials(dest, value, spelling):
    entry = option(dest.replace("_", "-"))
    with pytest.raises(UsageError) as raised:
        _resolve({dest: value}, spelling=spelling)
    assert raised.value.argument == spelling(entry)
    assert SECRET not in str(raised.value) and "[REDACTED]" in str(raised.value)


def test_the_proxy_has_four_spellings_like_every_option():
    assert _resolve({}, environ={"JOBS_CONFORMANCE_PROXY": "http://p:3128"}).proxy == (
        "http://p:3128"
    )
    entry = option("proxy")
    assert (entry.cli_flag, entry.pytest_flag, entry.env, entry.ini) == (
        "--proxy",
        "--conformance-proxy",
        "JOBS_CONFORMANCE_PROXY",
        "jobs_conformance_proxy",
    )


@pytest.fixture(scope="module")
def pems(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pems")
    ca = trustme.CA()
    mine, other = ca.issue_cert("client@example.org"), ca.issue_cert("other@example.org")
    paths = {
        "cert": mine.cert_chain_pems[0],
        "key": mine.private_key_pem,
        "both": mine.private_key_and_cert_chain_pem,
        "other-key": other.private_key_pem,
    }
    for name, blob in paths.items():
        blob.write_to_path(str(folder / f"{name}.pem"))
    key = serialization.load_pem_private_key(mine.private_key_pem.bytes(), None)
    (folder / "encrypted-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    (folder / "not-pem.pem").write_text("hello\n")
    return folder


def test_a_client_certificate_loads_with_its_key_or_holding_it(pems):
    apart = _resolve({"client_cert": str(pems / "cert.pem"), "client_key": str(pems / "key.pem")})
    assert (apart.client_cert, apart.client_key) == (str(pems / "cert.pem"), str(pems / "key.pem"))
    together = _resolve({}, environ={"JOBS_CONFORMANCE_CLIENT_CERT": str(pems / "both.pem")})
    assert (together.client_cert, together.client_key) == (str(pems / "both.pem"), None)


# (description, given (file names in the pems folder), the option named, what it says)
BAD_CERTIFICATES = [
    ("an unreadable certificate", {"client_cert": "absent.pem"}, "client-cert", "readable"),
    (
        "an unreadable key",
        {"client_cert": "cert.pem", "client_key": "absent.pem"},
        "client-key",
        "readable",
    ),
    ("a key without a certificate", {"client_key": "key.pem"}, "client-key", "client-cert"),
    ("a certificate without its key", {"client_cert": "cert.pem"}, "client-cert", "client-key"),
    ("not a certificate", {"client_cert": "not-pem.pem"}, "client-cert", "certificate"),
    (
        "a mismatched pair",
        {"client_cert": "cert.pem", "client_key": "other-key.pem"},
        "client-key",
        "private key of the certificate",
    ),
    (
        "an encrypted key (no prompt)",
        {"client_cert": "cert.pem", "client_key": "encrypted-key.pem"},
        "client-key",
        "unencrypted",
    ),
]


@pytest.mark.parametrize(
    ("given", "named", "says"),
    [c[1:] for c in BAD_CERTIFICATES],
    ids=[c[0] for c in BAD_CERTIFICATES],
)
@pytest.mark.parametrize(
    "spelling", [lambda o: o.cli_flag, lambda o: o.pytest_flag], ids=["cli", "pytest"]
)
def test_a_bad_client_certificate_is_a_usage_error_naming_the_option(
    pems, given, named, says, spelling
):
    with pytest.raises(UsageError) as raised:
        _resolve({k: str(pems / v) for k, v in given.items()}, spelling=spelling)
    assert raised.value.argument == spelling(option(named))
    assert says in raised.value.expected.replace("--conformance-", "--")


def test_a_bad_client_certificate_from_the_environment_names_the_variable(pems):
    with pytest.raises(UsageError) as raised:
        _resolve({}, environ={"JOBS_CONFORMANCE_CLIENT_KEY": str(pems / "key.pem")})
    assert raised.value.argument == "JOBS_CONFORMANCE_CLIENT_KEY"


def test_client_settings_of_carries_every_setting_the_client_uses(pems):
    settings = _resolve(
        {
            "base_url": "https://h/api",
            "seed_url": "https://h/seed?token=t-1234",
            "proxy": "http://proxy:3128",
            "client_cert": str(pems / "cert.pem"),
            "client_key": str(pems / "key.pem"),
            "timeout": "3",
            "max_requests": "7",
            "rate_limit": "2",
            "max_body_bytes": "2048",
            "workers": "5",
            "insecure": True,
        }
    )
    client = ClientSettings.of(settings, base_url="https://other/api", headers={"X": "y"})
    assert client == ClientSettings(
        base_url="https://other/api",
        headers={"X": "y"},
        timeout_s=3.0,
        max_requests=7,
        rate_limit=2.0,
        max_body_bytes=2048,
        verify=False,
        pool_size=5,
        seed_url="https://h/seed?token=t-1234",
        proxy="http://proxy:3128",
        client_cert=str(pems / "cert.pem"),
        client_key=str(pems / "key.pem"),
    )
