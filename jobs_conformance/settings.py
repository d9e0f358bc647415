"""The run's configuration, resolved once: option, then environment, then ini/pyproject, then default.

Repeatable options (``--job-id``, ``--header``) add their environment values
to the command line's instead of being replaced by them.

One table of options serves the pytest plugin and ``jobs-conformance run``
alike, so both take the same names, and :func:`resolve` turns whatever was
given into one validated :class:`Settings`. ``--base-url`` itself belongs to
the pytest-base-url plugin (with its ``PYTEST_BASE_URL`` variable and
``base_url`` ini key).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobs_conformance.contract import load_contract
from jobs_conformance.errors import UsageError

__all__ = ["OPTIONS", "Option", "PresetSettings", "Settings", "parse_header", "resolve"]

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token


@dataclass(frozen=True)
class Option:
    """One option: its flag, where else it may come from, and its meaning."""

    flag: str
    kind: str  # "str", "int", "float", "flag", "list"
    help: str
    env: str | None = None
    default: Any = None
    # pytest reserves some names (its own --strict); there the option takes this one.
    pytest_flag: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def ini(self) -> str:
        return "jobs_conformance_" + self.dest


OPTIONS: tuple[Option, ...] = (
    Option("--job-id", "list", "a job the target holds (repeatable)", "JOBS_CONFORMANCE_JOB_IDS"),
    Option(
        "--job-ids-file",
        "str",
        "file with one held job id per line ('#' comments)",
        "JOBS_CONFORMANCE_JOB_IDS_FILE",
    ),
    Option(
        "--header",
        "list",
        "'Name: value' sent with every request (repeatable); values are secrets, redacted everywhere. "
        "JOBS_CONFORMANCE_HEADERS takes one per line, keeping them off the command line",
        "JOBS_CONFORMANCE_HEADERS",
    ),
    Option(
        "--seed-url",
        "str",
        "seeding endpoint: jobs are PUT to {seed-url}/{id} before being read",
        "JOBS_CONFORMANCE_SEED_URL",
    ),
    Option(
        "--strict",
        "flag",
        "should-level failures fail the run too",
        "JOBS_CONFORMANCE_STRICT",
        False,
        pytest_flag="--strict-conformance",
    ),
    Option(
        "--report-dir",
        "str",
        "where reports are written (default reports/)",
        "JOBS_CONFORMANCE_REPORT_DIR",
        "reports",
    ),
    Option(
        "--timeout", "float", "seconds per request (default 10)", "JOBS_CONFORMANCE_TIMEOUT", 10.0
    ),
    Option(
        "--max-requests",
        "int",
        "hard cap on requests sent; the rest is reported not-checked",
        "JOBS_CONFORMANCE_MAX_REQUESTS",
    ),
    Option(
        "--rate-limit",
        "float",
        "at most this many requests in any one second",
        "JOBS_CONFORMANCE_RATE_LIMIT",
    ),
    Option(
        "--max-body-bytes",
        "int",
        "read at most this much of a body (default 10 MiB)",
        "JOBS_CONFORMANCE_MAX_BODY_BYTES",
        10 * 1024 * 1024,
    ),
    Option(
        "--workers",
        "int",
        "requests in flight at once, where independent (default 16)",
        "JOBS_CONFORMANCE_WORKERS",
        16,
    ),
    Option(
        "--ca-bundle",
        "str",
        "CA certificates (PEM) to verify the target's TLS certificate",
        "JOBS_CONFORMANCE_CA_BUNDLE",
    ),
    Option(
        "--insecure",
        "flag",
        "do not verify TLS certificates (prints a warning)",
        "JOBS_CONFORMANCE_INSECURE",
        False,
    ),
    Option(
        "--schemathesis",
        "flag",
        "also run schemathesis's generation over spec/openapi.yaml (positive and negative ids); "
        "on with --hypothesis-profile thorough",
        "JOBS_CONFORMANCE_SCHEMATHESIS",
        False,
    ),
)


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, validated."""

    base_url: str | None = None
    job_ids: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    seed_url: str | None = None
    strict: bool = False
    report_dir: Path = Path("reports")
    timeout: float = 10.0
    max_requests: int | None = None
    rate_limit: float | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    workers: int = 16
    ca_bundle: str | None = None
    insecure: bool = False
    schemathesis: bool = False

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_bundle or True


class PresetSettings:
    """A pytest plugin object that hands settings resolved by ``jobs-conformance run`` to
    the conformance plugin, so they are resolved once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` as a pair, or a UsageError."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not _HEADER_NAME.match(name):
        raise UsageError("--header", "<hidden>" if sep else text, "'Name: value' with a token name")
    return name, value.strip()


def _url(option: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(option, value, "an http:// or https:// URL with a host")
    return value.rstrip("/")


def _number(option: str, text: Any, kind: type, low: float, what: str) -> Any:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise UsageError(option, text, what) from None
    if value < low or value != value:  # NaN compares unequal to itself
        raise UsageError(option, text, what)
    return value


def _read_ids(path: str) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("--job-ids-file", path, f"a readable UTF-8 file of ids ({exc})") from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def resolve(
    given: Mapping[str, Any],
    *,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    ini: Callable[[str], Any] | None = None,
) -> Settings:
    """Resolve ``given`` (option dest -> value or None) over environment, ini and defaults."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for option in OPTIONS:
        value = given.get(option.dest)
        if option.kind == "list" and option.env and environ.get(option.env):
            # Repeatable options add up: a non-secret --header on the command
            # line must not silently drop the secret one kept in the environment.
            separator = "\n" if option.dest == "header" else None
            text = environ[option.env] if separator else environ[option.env].replace(",", " ")
            value = [*(value or []), *(p.strip() for p in text.split(separator) if p.strip())]
        elif value in (None, [], False) and option.env and environ.get(option.env):
            text = environ[option.env]
            if option.kind == "flag":
                value = text.strip().lower() in ("1", "true", "yes", "on")
            else:
                value = text
        if value in (None, [], False) and ini is not None:
            value = ini(option.ini) or value
        raw[option.dest] = option.default if value in (None, []) else value

    headers = dict(parse_header(h) for h in (raw["header"] or []))
    contract = load_contract()
    job_ids = list(raw["job_id"] or [])
    if raw["job_ids_file"]:
        job_ids += _read_ids(str(raw["job_ids_file"]))
    for job_id in job_ids:
        if not contract.path_pattern.search(job_id):
            raise UsageError("--job-id", job_id, "a UUID matching the documented jobId pattern")
    workers = _number("--workers", raw["workers"], int, 1, "a whole number from 1 to 64")
    if workers > 64:
        raise UsageError("--workers", workers, "a whole number from 1 to 64")
    ca_bundle = raw["ca_bundle"]
    if ca_bundle and not Path(ca_bundle).is_file():
        raise UsageError("--ca-bundle", ca_bundle, "a readable PEM file")
    return Settings(
        base_url=_url("--base-url", base_url) if base_url else None,
        job_ids=tuple(dict.fromkeys(job_ids)),
        headers=headers,
        seed_url=_url("--seed-url", raw["seed_url"]) if raw["seed_url"] else None,
        strict=bool(raw["strict"]),
        report_dir=Path(raw["report_dir"]),
        timeout=_number("--timeout", raw["timeout"], float, 0.001, "a number of seconds above 0"),
        max_requests=_number(
            "--max-requests", raw["max_requests"], int, 1, "a whole number, 1 or more"
        )
        if raw["max_requests"] is not None
        else None,
        rate_limit=_number(
            "--rate-limit", raw["rate_limit"], float, 0.01, "requests per second above 0"
        )
        if raw["rate_limit"] is not None
        else None,
        max_body_bytes=_number(
            "--max-body-bytes",
            raw["max_body_bytes"],
            int,
            1024,
            "a whole number of bytes, 1024 or more",
        ),
        workers=workers,
        ca_bundle=ca_bundle,
        insecure=bool(raw["insecure"]),
        schemathesis=bool(raw["schemathesis"]),
    )
