"""The run's configuration: one table of options, resolved once.

Every option is declared here once, with its default, and has four
spellings that all come from that one entry: the CLI's short flag
(``--timeout``), the pytest flag (``--conformance-timeout``: a plugin is a
guest in other projects' sessions, so its generic names carry a prefix), an
environment variable (``JOBS_CONFORMANCE_TIMEOUT``) and an ini key
(``jobs_conformance_timeout``, in ``[tool.pytest.ini_options]``). The base
URL is pytest-base-url's (``--base-url``, ``PYTEST_BASE_URL``, ``base_url``).

:func:`resolve` takes option, then environment, then ini, then default, and
returns one validated :class:`Settings`. ``jobs-conformance run`` hands its
options to pytest under their pytest spellings, so the plugin resolves
every run the same way, however it was started. Repeatable options
(``--job-id``, ``--header``) add their environment values to the command
line's instead of being replaced by them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobs_conformance.contract import load_contract
from jobs_conformance.errors import UsageError
from jobs_conformance.redact import redact_url, userinfo, with_userinfo_credentials

__all__ = [
    "OPTIONS",
    "PROFILES",
    "CliSpelling",
    "Option",
    "Settings",
    "add_cli_options",
    "cli_spelling",
    "option",
    "parse_header",
    "resolve",
    "resolve_cli",
]

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flag(text: str, where: str) -> bool:
    """A flag's value as an environment variable or ini key gives it: a "maybe" is no
    setting to read as off."""
    said = text.strip().lower()
    if said not in _TRUE and said not in _FALSE:
        raise UsageError(where, text, f"one of {', '.join(_TRUE + _FALSE)}")
    return said in _TRUE


# ci: derandomized and modest, the same verdict every run; thorough: many
# random examples, with schemathesis's generation when it is installed.
PROFILES = ("ci", "thorough")


@dataclass(frozen=True)
class Option:
    """One option: its name, kind, meaning and default; every spelling derives from the name."""

    name: str
    kind: str  # "str", "int", "float", "flag", "list", "choice"
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()
    env_name: str | None = None
    cli_name: str | None = None
    # Declared by another plugin (pytest-base-url): read, never declared here.
    foreign: bool = False

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def cli_flag(self) -> str:
        return "--" + (self.cli_name or self.name)

    @property
    def pytest_flag(self) -> str:
        return "--" + self.name if self.foreign else "--conformance-" + self.name

    @property
    def pytest_dest(self) -> str:
        return self.dest if self.foreign else "conformance_" + self.dest

    @property
    def env(self) -> str:
        return self.env_name or "JOBS_CONFORMANCE_" + self.dest.upper()

    @property
    def ini(self) -> str:
        return self.dest if self.foreign else "jobs_conformance_" + self.dest

    def arguments(self, dest: str) -> dict[str, Any]:
        """The ``add_argument`` keywords both command lines use (pytest's parser takes argparse's)."""
        kwargs: dict[str, Any] = {"dest": dest, "help": self.described}
        if self.kind == "list":
            kwargs.update(action="append", metavar="VALUE")
        elif self.kind == "flag":
            # None, not False: "not given", so the environment and ini still decide.
            kwargs.update(action="store_true", default=None)
        elif self.kind == "choice":
            kwargs.update(choices=self.choices)
        else:
            kwargs.update(metavar="VALUE")
        return kwargs

    @property
    def described(self) -> str:
        """The help text with its default, as both command lines show it."""
        suffix = f" (default {self.default})" if self.default not in (None, False, ()) else ""
        return f"{self.help}{suffix} [env {self.env}]"


OPTIONS: tuple[Option, ...] = (
    Option(
        "base-url",
        "str",
        "the target, e.g. https://host/api/v2; without it, the embedded reference server",
        env_name="PYTEST_BASE_URL",
        foreign=True,
    ),
    Option(
        "job-id", "list", "a job the target holds (repeatable)", env_name="JOBS_CONFORMANCE_JOB_IDS"
    ),
    Option("job-ids-file", "str", "file with one held job id per line ('#' comments)"),
    Option(
        "header",
        "list",
        "'Name: value' sent with every request (repeatable); values are secrets, redacted "
        "everywhere. JOBS_CONFORMANCE_HEADERS takes one per line, keeping them off the command line",
        env_name="JOBS_CONFORMANCE_HEADERS",
    ),
    Option(
        "auth-header",
        "list",
        "a credential header the target requires, one of those sent (repeatable; Authorization "
        "for the base URL's user-info): auth.required then checks that requests without it, or "
        "with it altered, are refused. Off by default: the doc page documents no authentication",
        env_name="JOBS_CONFORMANCE_AUTH_HEADERS",
    ),
    Option(
        "seed-url", "str", "seeding endpoint: jobs are PUT to {seed-url}/{id} before being read"
    ),
    Option("strict", "flag", "should-level failures fail the run too", False),
    Option("report-dir", "str", "where reports are written", "reports"),
    Option("timeout", "float", "seconds per request", 10.0),
    Option("max-requests", "int", "hard cap on requests sent; the rest is reported not-checked"),
    Option("rate-limit", "float", "at most this many requests in any one second"),
    Option("max-body-bytes", "int", "read at most this many bytes of a body", 10 * 1024 * 1024),
    Option("workers", "int", "requests in flight at once, where independent", 16),
    Option("ca-bundle", "str", "CA certificates (PEM) to verify the target's TLS certificate"),
    Option("insecure", "flag", "do not verify TLS certificates (prints a warning)", False),
    Option(
        "client-cert",
        "str",
        "client certificate (PEM) for a target that requires mutual TLS; may hold the key too",
    ),
    Option("client-key", "str", "the private key (PEM, unencrypted) of --client-cert, if apart"),
    Option(
        "proxy",
        "str",
        "send every request through this HTTP proxy, http://[user:password@]host:port (https "
        "targets through a CONNECT tunnel); proxy environment variables are never read",
    ),
    Option(
        "schemathesis",
        "flag",
        "also run schemathesis's generation over the spec (positive and negative ids); needs the "
        "schemathesis extra; on with the thorough profile where installed",
        False,
    ),
    Option(
        "profile",
        "choice",
        "ci: derandomized, 30 examples per property; thorough: 1000, random",
        "ci",
        choices=PROFILES,
        cli_name="hypothesis-profile",
    ),
    Option(
        "cache-dir",
        "str",
        "where Hypothesis keeps its caches during a conformance run (default "
        "$XDG_CACHE_HOME/jobs-conformance, else ~/.cache/jobs-conformance); 'off' for a temporary "
        "folder removed after the run",
    ),
    Option(
        "waivers",
        "str",
        "TOML file of accepted findings, each with a reason and an expiry date (default "
        "conformance-waivers.toml in the working directory, when present)",
    ),
    Option(
        "strict-waivers",
        "flag",
        "a waiver whose finding was not observed (stale) fails the run instead of warning",
        False,
    ),
    Option(
        "confirm",
        "int",
        "before a run fails, re-send each finding's simplest request this many more times "
        "(counted in the budget); one that does not fail every time is flaky",
        2,
    ),
    Option(
        "flaky",
        "choice",
        "fail: a flaky finding fails the run; warn: it is reported and passes",
        "fail",
        choices=("fail", "warn"),
    ),
    Option(
        "baseline",
        "str",
        "a previous conformance.json: findings are reported new, fixed or unchanged since it",
    ),
    Option(
        "fail-on",
        "choice",
        "all: every counting finding fails the run; new: only those the baseline did not have",
        "all",
        choices=("all", "new"),
    ),
    Option(
        "version-header",
        "str",
        "a response header naming the target's version, recorded in the report",
    ),
    Option(
        "expect-version",
        "str",
        "the version the target must serve (--version-header): another one ends the run with no "
        "verdict",
    ),
)

_BY_NAME = {o.name: o for o in OPTIONS}


def option(name: str) -> Option:
    """The table's entry ``name`` (KeyError if there is none)."""
    return _BY_NAME[name]


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, validated. Built only by :func:`resolve`.

    URLs are kept as given, credentials included (the client takes user-info
    out of what it requests, the redactor out of what is shown); ``headers``
    holds the base URL's user-info as Basic ``Authorization``, so it travels,
    and is left out by the authentication probes, like any configured credential.
    """

    base_url: str | None
    job_ids: tuple[str, ...]
    headers: Mapping[str, str]
    auth_headers: tuple[str, ...]  # the credential headers the target requires, as sent
    seed_url: str | None
    strict: bool
    report_dir: Path
    timeout: float
    max_requests: int | None
    rate_limit: float | None
    max_body_bytes: int
    workers: int
    ca_bundle: str | None
    insecure: bool
    client_cert: str | None
    client_key: str | None
    proxy: str | None
    schemathesis: bool
    profile: str
    cache_dir: Path | None  # None: a temporary folder, removed after the run
    waivers: Path
    waivers_explicit: bool  # named by the user: a missing file is an error
    strict_waivers: bool
    confirm: int
    flaky: str
    baseline: Path | None
    fail_on: str
    version_header: str | None
    expect_version: str | None
    # Where each value came from, by dest, as the user wrote it (the option as spelled, the
    # environment variable, the ini key): what a message about a value names.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_bundle or True


class CliSpelling:
    """Registered with pytest by ``jobs-conformance run``: messages name options as the CLI spells them."""


def cli_spelling(entry: Option) -> str:
    """An option as the CLI spells it, for messages (``--timeout``)."""
    return entry.cli_flag


def add_cli_options(
    parser: Any, names: Iterable[str], *, helps: Mapping[str, str] | None = None
) -> None:
    """Declare the table's options ``names`` on an argparse (sub)command, as ``run`` does;
    ``helps`` (name -> text) says what an option means for this command, where the
    table's text is run's (``audit`` has no embedded reference to fall back on)."""
    for name in names:
        entry = option(name)
        if helps and name in helps:
            entry = dataclasses.replace(entry, help=helps[name])
        parser.add_argument(entry.cli_flag, **entry.arguments(entry.dest))


def resolve_cli(args: Any, names: Iterable[str], **extra: Any) -> Settings:
    """The settings of a command that took the options ``names`` (and ``extra``, by dest):
    option, then environment, then default, named in messages as the CLI spells them."""
    given = {option(n).dest: getattr(args, option(n).dest, None) for n in names}
    return resolve({**given, **extra}, environ=os.environ, spelling=cli_spelling)


# Control characters, which no field value may hold: C0 but horizontal tab, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def parse_header(text: str, source: str = "--header") -> tuple[str, str]:
    """``"Name: value"`` as a pair, or a UsageError (the value is never shown)."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not _HEADER_NAME.match(name):
        # Never echoed, not even without a colon: that text may be the token itself.
        raise UsageError(source, "<hidden>", "'Name: value' with a token name")
    value = value.strip()
    if _CONTROL.search(value):
        # RFC 9110 section 5.5: no field value holds a control character. Refused here, not
        # by the client at the first request (a stop to resume) or by the target (a 400
        # for every job), and not shown: the halves of a token split by a newline.
        raise UsageError(
            source, f"{name}: <hidden>", "a value without control characters (RFC 9110 5.5)"
        )
    return name, value


def resolve(
    given: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    ini: Callable[[Option], Any] | None = None,
    spelling: Callable[[Option], str] = lambda o: o.pytest_flag,
) -> Settings:
    """Resolve ``given`` (option dest -> value, or None when not given) over environment, ini, defaults.

    ``spelling`` names an option in error messages the way the user wrote it
    (the CLI's ``--timeout`` or pytest's ``--conformance-timeout``); a value
    that came from the environment or the ini is named by its variable or key.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    # Where each value came from, as the user wrote it; a list option's
    # items each have their own (the command line's and the environment's add up).
    source: dict[str, str] = {}
    item_sources: dict[str, list[str]] = {}
    for entry in OPTIONS:
        value, where = given.get(entry.dest), spelling(entry)
        from_env = environ.get(entry.env)
        if entry.kind == "list":
            items = [(str(v), where) for v in value or []]
            if from_env:
                # Repeatable options add up: a non-secret --header on the command
                # line must not silently drop the secret one kept in the environment.
                parts = (
                    from_env.split("\n")
                    if entry.name == "header"
                    else from_env.replace(",", " ").split()
                )
                items += [(p.strip(), entry.env) for p in parts if p.strip()]
            if not items and ini is not None:
                items = [(str(v), f"ini {entry.ini}") for v in ini(entry) or []]
            raw[entry.dest] = [v for v, _ in items]
            item_sources[entry.dest] = [w for _, w in items]
            source[entry.dest] = where
            continue
        # A flag is only ever turned on by its option; the environment's
        # value, on or off, decides over the ini's.
        decided = bool(value)
        if not decided and from_env:
            value = _flag(from_env, entry.env) if entry.kind == "flag" else from_env
            where, decided = entry.env, True
        if not decided and ini is not None:
            configured = ini(entry)
            if configured not in (None, ""):
                where = f"ini {entry.ini}"
                value = _flag(configured, where) if entry.kind == "flag" else configured
        raw[entry.dest] = entry.default if value is None else value
        source[entry.dest] = where
    return _validated(raw, source, item_sources)


def _validated(
    raw: Mapping[str, Any], source: Mapping[str, str], item_sources: Mapping[str, list[str]]
) -> Settings:
    def number(dest: str, kind: type, low: float, high: float | None, what: str) -> Any:
        text = raw[dest]
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise UsageError(source[dest], text, what) from None
        # NaN compares unequal to itself; an infinite timeout or rate is no setting either
        # (1e400 reads as one, and a deadline of now + inf is no time at all).
        if (
            value != value
            or value in (math.inf, -math.inf)
            or value < low
            or (high is not None and value > high)
        ):
            raise UsageError(source[dest], text, what)
        return value

    def url(dest: str, schemes: tuple[str, ...], what: str) -> str | None:
        value = raw[dest]
        if not value:
            return None
        text = str(value)
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 (raises ValueError when out of range or not a number)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in schemes or not parts.hostname:
            # The message echoes the URL: never its credentials.
            raise UsageError(source[dest], redact_url(text), what)
        return text if parts.query else text.rstrip("/")

    target_url = "an http:// or https:// URL with a host"
    base_url = url("base_url", ("http", "https"), target_url)
    headers = dict(
        parse_header(h, where)
        for h, where in zip(raw["header"], item_sources["header"], strict=True)
    )
    # curl's -H would replace -u's header; two credentials for one target is
    # more likely a mistake than a choice.
    if base_url and userinfo(base_url) is not None:
        if any(name.lower() == "authorization" for name in headers):
            raise UsageError(
                source["base_url"],
                redact_url(base_url),
                "user-info or an Authorization header, not both",
            )
        headers = with_userinfo_credentials(base_url, headers)
    sent = {name.lower(): name for name in headers}
    auth_headers = []
    for name, where in zip(raw["auth_header"], item_sources["auth_header"], strict=True):
        if name.strip().lower() not in sent:
            raise UsageError(
                where,
                name,
                f"the name of a header sent with {source['header']} (or Authorization, for the "
                "base URL's user-info)",
            )
        auth_headers.append(sent[name.strip().lower()])
    contract = load_contract()
    job_ids = list(zip(raw["job_id"], item_sources["job_id"], strict=True))
    if raw["job_ids_file"]:
        path = str(raw["job_ids_file"])
        where = f"{source['job_ids_file']} {path}"
        job_ids += [(i, where) for i in _read_ids(source["job_ids_file"], path)]
    for job_id, where in job_ids:
        if not contract.path_pattern.search(job_id):
            raise UsageError(where, job_id, "a UUID matching the documented jobId pattern")
    ca_bundle = raw["ca_bundle"]
    if ca_bundle and not Path(ca_bundle).is_file():
        raise UsageError(source["ca_bundle"], ca_bundle, "a readable PEM file")
    client_cert, client_key = _client_certificate(raw, source)
    if raw["profile"] not in PROFILES:
        raise UsageError(source["profile"], raw["profile"], " or ".join(PROFILES))
    cache_dir = str(raw["cache_dir"] or _user_cache_dir()).strip()
    for dest in ("flaky", "fail_on"):
        entry = next(o for o in OPTIONS if o.dest == dest)
        if raw[dest] not in entry.choices:
            raise UsageError(source[dest], raw[dest], " or ".join(entry.choices))
    version_header = raw["version_header"] or None
    if version_header is not None and not _HEADER_NAME.match(str(version_header)):
        raise UsageError(source["version_header"], version_header, "a header name")
    if raw["expect_version"] and version_header is None:
        raise UsageError(
            source["expect_version"], raw["expect_version"], f"{source['version_header']} too"
        )
    baseline = Path(raw["baseline"]) if raw["baseline"] else None
    if raw["fail_on"] == "new" and baseline is None:
        raise UsageError(source["fail_on"], "new", f"{source['baseline']} too: new since what")
    if baseline is not None and not baseline.is_file():
        raise UsageError(source["baseline"], str(baseline), "a readable conformance.json")
    return Settings(
        base_url=base_url,
        job_ids=tuple(dict.fromkeys(i for i, _ in job_ids)),
        headers=headers,
        auth_headers=tuple(dict.fromkeys(auth_headers)),
        seed_url=url("seed_url", ("http", "https"), target_url),
        strict=bool(raw["strict"]),
        report_dir=Path(raw["report_dir"]),
        timeout=number("timeout", float, 0.001, None, "a number of seconds above 0"),
        max_requests=None
        if raw["max_requests"] is None
        else number("max_requests", int, 1, None, "a whole number, 1 or more"),
        rate_limit=None
        if raw["rate_limit"] is None
        else number("rate_limit", float, 0.01, None, "requests per second above 0"),
        max_body_bytes=number(
            "max_body_bytes", int, 1024, None, "a whole number of bytes, 1024 or more"
        ),
        workers=number("workers", int, 1, 64, "a whole number from 1 to 64"),
        ca_bundle=ca_bundle,
        insecure=bool(raw["insecure"]),
        client_cert=client_cert,
        client_key=client_key,
        proxy=url("proxy", ("http",), "an http:// URL of an HTTP proxy, with a host"),
        schemathesis=bool(raw["schemathesis"]),
        profile=raw["profile"],
        cache_dir=None if cache_dir.lower() in ("off", "") else Path(cache_dir).expanduser(),
        waivers=Path(raw["waivers"] or "conformance-waivers.toml"),
        waivers_explicit=bool(raw["waivers"]),
        strict_waivers=bool(raw["strict_waivers"]),
        confirm=number("confirm", int, 0, 20, "a whole number from 0 to 20"),
        flaky=raw["flaky"],
        baseline=baseline,
        fail_on=raw["fail_on"],
        version_header=version_header,
        expect_version=raw["expect_version"] or None,
        sources=dict(source),
    )


class _EncryptedKey(Exception):
    pass


def _no_password() -> bytes:
    # Without a callback, OpenSSL would prompt on the terminal for an
    # encrypted key's passphrase, here and again in the client.
    raise _EncryptedKey


def _client_certificate(
    raw: Mapping[str, Any], source: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """--client-cert and --client-key, loaded here so a bad pair is a usage error, not a TLS failure."""
    cert, key = raw["client_cert"] or None, raw["client_key"] or None
    if key and not cert:
        raise UsageError(
            source["client_key"], key, f"{source['client_cert']} too: the certificate of this key"
        )
    if not cert:
        return None, None
    texts = {}
    for dest, path in (("client_cert", cert), ("client_key", key)):
        if path is None:
            continue
        try:
            texts[dest] = Path(path).read_text(encoding="ascii", errors="replace")
        except OSError as exc:
            raise UsageError(
                source[dest], path, f"a readable PEM file ({exc.strerror or exc})"
            ) from None
    if "-----BEGIN CERTIFICATE-----" not in texts["client_cert"]:
        raise UsageError(source["client_cert"], cert, "a PEM file holding a certificate")
    key_dest, key_path = ("client_key", key) if key else ("client_cert", cert)
    if "PRIVATE KEY-----" not in texts[key_dest]:
        holds = "a private key" if key else f"the private key too (or give {source['client_key']})"
        raise UsageError(source[key_dest], key_path, f"a PEM file holding {holds}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(cert, key, password=_no_password)
    except _EncryptedKey:
        raise UsageError(
            source[key_dest], key_path, "an unencrypted private key (no passphrase can be asked)"
        ) from None
    except ssl.SSLError as exc:
        expected = (
            f"the private key of the certificate in {cert}"
            if exc.reason == "KEY_VALUES_MISMATCH"
            else f"a certificate and private key OpenSSL can load ({exc})"
        )
        raise UsageError(source[key_dest], key_path, expected) from None
    return cert, key


def _user_cache_dir() -> str:
    # XDG Base Directory Specification: $XDG_CACHE_HOME, else ~/.cache.
    return str(Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "jobs-conformance")


def _read_ids(where: str, path: str) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(where, path, f"a readable UTF-8 file of ids ({exc})") from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
