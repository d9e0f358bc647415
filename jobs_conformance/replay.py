"""``jobs-conformance replay``: send a report's findings again and say which are fixed.

Each finding in ``conformance.json`` carries its probe: the raw id sent, why
it was sent (its intent), the id its answer was compared with and the other
forms tried beside it, which credentials were left out, the job that was
seeded. :func:`exchange_for` rebuilds the exchange from that the way the run
built it, and the oracle judges it again: the finding reproduces when its
requirement fails again in the same class. Sent ``--times`` times, a finding
is FIXED (never), STILL FAILING (every time) or FLAKY (some of the times);
one that cannot be judged (no answer, credentials refused, no seeding URL,
the budget spent) is NO VERDICT, with the reason.

A report never holds credentials: they come from the same options and
environment as ``run``. ``--emit-pytest`` writes each finding as a small,
deterministic pytest file that rebuilds the same exchange through
:func:`check_fixed` with the plugin's fixtures: a regression test that fails
while the bug is there.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import re
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs_conformance.contract import Contract, default_spec_dir, load_contract
from jobs_conformance.errors import ExitCode, TargetUnreachable, UsageError
from jobs_conformance.exchange import Exchange, Intent
from jobs_conformance.oracle import Violation, judge
from jobs_conformance.redact import MARKER, Redactor
from jobs_conformance.settings import Settings, add_cli_options, resolve_cli

if TYPE_CHECKING:
    from jobs_conformance.client import Client
    from jobs_conformance.session import ConformanceSession

__all__ = [
    "DEFAULT_TIMES",
    "NoVerdict",
    "Replayed",
    "Verdict",
    "add_parser",
    "check_fixed",
    "emit_pytest",
    "exchange_for",
    "load_findings",
    "pytest_source",
    "replay",
    "reproductions",
    "run_replay",
    "select_findings",
]

DEFAULT_TIMES = 3
_MAX_TIMES = 100
# The options of `run` that say where the target is and how to reach it;
# the rest (job ids, reports, profiles, waivers) have nothing to do here.
_TARGET_OPTIONS = (
    "base-url",
    "header",
    "auth-header",
    "seed-url",
    "timeout",
    "max-requests",
    "rate-limit",
    "proxy",
    "ca-bundle",
    "insecure",
    "client-cert",
    "client-key",
)
# What replay reads of a finding; the report schema's own definitions of
# them are checked (the rest of a record may change without concerning replay).
_FINDING_KEYS = ("id", "requirement", "class", "probe")
# "Not without credentials": an answer that says nothing of the finding.
_REFUSED = frozenset({401, 403})


class Verdict(enum.Enum):
    """What sending a finding again showed."""

    FIXED = "FIXED"
    STILL_FAILING = "STILL FAILING"
    FLAKY = "FLAKY"
    NO_VERDICT = "NO VERDICT"


class NoVerdict(Exception):
    """The finding's request could not be judged again: ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Replayed:
    """One finding sent again: reproduced ``reproduced`` of ``sent`` times, or why not judged."""

    finding: str
    verdict: Verdict
    reproduced: int = 0
    sent: int = 0
    reason: str = ""

    @property
    def text(self) -> str:
        """``FIXED``, ``STILL FAILING (k/N)``, ``FLAKY (k/N)`` or ``NO VERDICT (reason)``."""
        if self.verdict is Verdict.NO_VERDICT:
            return f"{self.verdict.value} ({self.reason})"
        if self.verdict is Verdict.FIXED:
            return self.verdict.value
        return f"{self.verdict.value} ({self.reproduced}/{self.sent})"


# --- The report.


def load_findings(path: str | Path) -> tuple[str, list[dict[str, Any]]]:
    """The target and the findings of a ``conformance.json``; a UsageError naming what is wrong."""
    import jsonschema

    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UsageError("--from", str(path), f"a readable conformance.json ({exc})") from exc
    if not isinstance(report, dict) or not isinstance(report.get("findings"), list):
        raise UsageError("--from", str(path), "a conformance.json report (no findings array)")
    schema = json.loads(
        (default_spec_dir() / "conformance.schema.json").read_text(encoding="utf-8")
    )
    finding = schema["properties"]["findings"]["items"]
    wanted = {
        "type": "object",
        "required": list(_FINDING_KEYS),
        "properties": {key: finding["properties"][key] for key in _FINDING_KEYS},
    }
    problem = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator({"type": "array", "items": wanted}).iter_errors(
            report["findings"]
        )
    )
    if problem is not None:
        where = "/".join(str(p) for p in ("findings", *problem.absolute_path))
        raise UsageError(
            "--from", str(path), f"a conformance.json report ({where}: {problem.message})"
        )
    target = report.get("target")
    return (target if isinstance(target, str) else ""), report["findings"]


def select_findings(
    findings: Sequence[Mapping[str, Any]], ids: Sequence[str], *, every: bool
) -> list[Mapping[str, Any]]:
    """The findings named by ``ids`` (in that order), or all of them with ``every``."""
    if every and ids:
        raise UsageError("--all", " ".join(ids), "either finding ids or --all, not both")
    if every:
        return list(findings)
    if not ids:
        raise UsageError(
            "FINDING", "(none given)", "one or more finding ids from the report, or --all"
        )
    by_id = {f["id"]: f for f in findings}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        known = ", ".join(sorted(by_id)) or "none: the report has no findings"
        raise UsageError("FINDING", " ".join(unknown), f"an id of the report's findings ({known})")
    return [by_id[i] for i in dict.fromkeys(ids)]


# --- Sending a finding again.


def exchange_for(
    probe: Mapping[str, Any] | None,
    client: Client,
    *,
    auth_headers: Collection[str] = (),
    seed_url: str | None = None,
) -> Exchange:
    """The exchange a finding's ``probe`` describes, sent again the way the run built it.

    A case variant or a repeat first GETs its ``baseline`` id (that answer is
    what it is compared with), a held job's GET takes its ``alternates``
    along, an unauthenticated request leaves out or alters ``auth_headers``
    of the client's headers, and a seeded job is stored through ``seed_url``
    and read back. Raises :class:`NoVerdict` when that cannot be done or the
    answer says nothing of the finding (no answer, credentials refused, the
    budget spent).
    """
    # Imported here: they bring urllib3 and Hypothesis, which the CLI's other
    # commands do not need to start.
    from jobs_conformance.client import BudgetExhausted, TransportFailure

    if probe is None:
        raise NoVerdict("the report holds no request to send again")
    try:
        intent = Intent(probe["intent"])
    except ValueError:
        raise NoVerdict(
            f"the report's intent {probe['intent']!r} is not one replay knows"
        ) from None
    try:
        exchange = _send(probe, intent, client, auth_headers, seed_url)
    except TransportFailure as exc:
        raise NoVerdict(f"unreachable: {exc.reason}") from exc
    except TargetUnreachable as exc:
        raise NoVerdict(f"unreachable: {exc}") from exc
    except BudgetExhausted as exc:
        raise NoVerdict(str(exc)) from exc
    if intent is not Intent.UNAUTHENTICATED:
        for sent in (exchange, exchange.baseline, *exchange.alternates):
            if sent is not None and sent.response.status in _REFUSED:
                raise NoVerdict(
                    f"{sent.job_id!r} was answered {sent.response.status}: credentials missing "
                    "or refused (give them as for run: --header, JOBS_CONFORMANCE_HEADERS)"
                )
    return exchange


def _send(
    probe: Mapping[str, Any],
    intent: Intent,
    client: Client,
    auth_headers: Collection[str],
    seed_url: str | None,
) -> Exchange:
    from jobs_conformance.probes import (
        Probe,
        alter_credentials,
        seed_and_fetch,
        without_credentials,
    )

    job_id = str(probe["job_id"])
    described = {
        "label": probe.get("label") or "",
        "about": probe.get("about"),
        "detail": probe.get("detail") or "",
    }
    if intent is Intent.SEEDED:
        if not seed_url:
            raise NoVerdict("a seeded finding: give the seeding URL with --seed-url")
        if probe.get("expected") is None:
            raise NoVerdict("the report holds no seeded job to store again")
        return seed_and_fetch(client, seed_url, probe["expected"])
    headers = None
    if intent is Intent.UNAUTHENTICATED:
        how = probe.get("credentials") or "without"
        if not auth_headers:
            raise NoVerdict(
                f"the finding sends a request {how} credentials: name the credential header "
                "with --auth-header (and send it with --header)"
            )
        change = alter_credentials if how == "altered" else without_credentials
        headers = change(client.settings.headers, auth_headers)
    baseline = None
    if probe.get("baseline") is not None and intent in (Intent.CASE_VARIANT, Intent.REPEAT):
        baseline = Probe(str(probe["baseline"]), Intent.KNOWN).send(client)
    exchange = Probe(job_id, intent, headers, baseline, **described).send(client)
    alternates = probe.get("alternates") or ()
    if alternates:
        # A held job's other cases (was it found in one?); a case variant's
        # repeats of the declared id (what changes between reads anyway).
        tried = Intent.CASE_VARIANT if intent is Intent.KNOWN else Intent.REPEAT
        exchange = dataclasses.replace(
            exchange, alternates=tuple(Probe(str(a), tried).send(client) for a in alternates)
        )
    return exchange


def reproductions(
    finding: Mapping[str, Any], exchange: Exchange, contract: Contract | None = None
) -> list[Violation]:
    """The violations of ``exchange`` that are ``finding`` again: its requirement, in its class.

    Raises :class:`NoVerdict` when the oracle judged nothing (the target
    asked to be called again later).
    """
    judgement = judge(exchange, contract)
    if judgement.skipped:
        raise NoVerdict(
            f"{exchange.job_id!r} was answered {exchange.response.status} with Retry-After: "
            "the target asked to be called again later"
        )
    return [
        v
        for v in judgement.violations
        if v.requirement == finding["requirement"] and (v.kind or v.message) == finding["class"]
    ]


def replay(
    finding: Mapping[str, Any],
    client: Client,
    *,
    times: int = DEFAULT_TIMES,
    auth_headers: Collection[str] = (),
    seed_url: str | None = None,
    contract: Contract | None = None,
) -> Replayed:
    """Send ``finding``'s request(s) ``times`` times and judge each answer as the run did.

    Any attempt that cannot be judged makes the whole replay NO VERDICT:
    a verdict on fewer sends than asked for would pass for a stronger one.
    """
    if times < 1:
        raise UsageError("--times", times, "a whole number, 1 or more")
    contract = contract or load_contract()
    reproduced = 0
    for sent in range(times):
        try:
            exchange = exchange_for(
                finding.get("probe"), client, auth_headers=auth_headers, seed_url=seed_url
            )
            reproduced += bool(reproductions(finding, exchange, contract))
        except NoVerdict as exc:
            so_far = f"; reproduced {reproduced} of {sent} sent before" if sent else ""
            return Replayed(
                finding["id"], Verdict.NO_VERDICT, reproduced, sent, exc.reason + so_far
            )
    if reproduced == times:
        verdict = Verdict.STILL_FAILING
    else:
        verdict = Verdict.FLAKY if reproduced else Verdict.FIXED
    return Replayed(finding["id"], verdict, reproduced, times)


# --- Regression tests.


def check_fixed(
    finding: Mapping[str, Any], conformance: ConformanceSession, client: Client
) -> None:
    """An emitted test's body: rebuild ``finding``'s exchange and fail while it reproduces.

    ``conformance`` and ``client`` are the plugin's fixtures (the run's
    credentials, seeding URL and client); a finding that cannot be judged
    skips with the reason.
    """
    import pytest

    if conformance.embedded:
        # Forgetting --base-url must not turn a regression test green against the
        # embedded reference.
        pytest.fail(
            f"{finding['id']}: give the service to check with --base-url (this run has "
            "none: it would check the embedded reference)"
        )
    try:
        exchange = exchange_for(
            finding.get("probe"),
            client,
            auth_headers=conformance.auth_headers,
            seed_url=conformance.seed_url,
        )
        found = reproductions(finding, exchange, conformance.contract)
    except NoVerdict as exc:
        pytest.skip(f"{finding['id']}: no verdict: {exc.reason}")
    if found:
        request = exchange.request
        where = (
            f" ({request.method} {request.url} -> {exchange.response.status})" if request else ""
        )
        lines = [f"{finding['id']} reproduces: {v.requirement}: {v.message}{where}" for v in found]
        raise AssertionError(conformance.redactor.text("\n".join(lines)))


def _test_name(finding: Mapping[str, Any]) -> str:
    requirement, _, digest = str(finding["id"]).partition("#")
    return "test_" + re.sub(r"[^0-9A-Za-z]", "_", requirement) + "_" + digest


def pytest_source(finding: Mapping[str, Any]) -> str:
    """The emitted test of ``finding``: its probe as data, and one call to :func:`check_fixed`.

    Only what identifies the finding and rebuilds its request is embedded
    (nothing of a host, port, time or credential), so the same finding
    writes the same file from any run.
    """
    name = _test_name(finding)
    data = {key: finding[key] for key in _FINDING_KEYS}
    return f'''"""Regression test for finding {finding["id"]} ({_one_line(finding["class"])}).

Written by ``jobs-conformance replay --emit-pytest``: it sends the finding's
request(s) again and fails while the finding reproduces. Run it with the
options of a conformance run (credentials, ``--conformance-seed-url``)::

    pytest -p jobs_conformance --base-url URL {name}.py
"""

import pytest

from jobs_conformance.fixtures import conformance, conformance_client  # noqa: F401
from jobs_conformance.replay import check_fixed

# Run alone, this file is the whole session: the plugin adds no contract suite,
# writes no report, and pytest's own outcome is the verdict.
JOBS_CONFORMANCE_REGRESSION = True

FINDING = {_literal(data)}


@pytest.mark.requirement({json.dumps(finding["requirement"])})
def {name}(conformance, conformance_client):
    check_fixed(FINDING, conformance, conformance_client)
'''


def _literal(value: Any, depth: int = 0) -> str:
    """``value`` (JSON data) as a Python literal, one member a line, in the report's order."""
    inner, outer = "    " * (depth + 1), "    " * depth
    if isinstance(value, dict) and value:
        members = "".join(f"{inner}{k!r}: {_literal(v, depth + 1)},\n" for k, v in value.items())
        return "{\n" + members + outer + "}"
    if isinstance(value, list) and value:
        items = "".join(f"{inner}{_literal(v, depth + 1)},\n" for v in value)
        return "[\n" + items + outer + "]"
    return repr(value)


def _one_line(text: str, limit: int = 60) -> str:
    # Safe in a docstring and on a terminal line: no escapes, quotes or control characters.
    shown = "".join(c if c.isprintable() and c not in '\\"' else "?" for c in str(text))
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def emit_pytest(finding: Mapping[str, Any], directory: str | Path) -> Path:
    """Write ``finding``'s test to ``directory/test_<requirement>_<hash>.py``; its path."""
    from jobs_conformance.report import write_atomic

    path = Path(directory) / f"{_test_name(finding)}.py"
    write_atomic(path, pytest_source(finding).encode("utf-8"))
    return path


# --- The command.


def _times(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= _MAX_TIMES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {_MAX_TIMES}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``replay`` on the CLI's subcommands."""
    parser = subparsers.add_parser(
        "replay",
        help="send a report's findings again: fixed, still failing or flaky",
        description="Send each finding's request(s) from a conformance.json again, judge the "
        "answers as the run did, and print one line per finding. Exit 0 all fixed, 1 one still "
        "fails or is flaky, otherwise 2 when one could not be judged, 4 usage error.",
    )
    parser.add_argument(
        "findings", nargs="*", metavar="FINDING", help="finding ids, as in the report"
    )
    parser.add_argument("--all", dest="every", action="store_true", help="every finding")
    parser.add_argument(
        "--from", dest="source", required=True, metavar="FILE", help="a conformance.json"
    )
    parser.add_argument(
        "--times",
        type=_times,
        default=DEFAULT_TIMES,
        metavar="N",
        help=f"send each finding N times (default {DEFAULT_TIMES})",
    )
    parser.add_argument(
        "--emit-pytest",
        metavar="DIR",
        help="also write one pytest file per finding to DIR, failing while it reproduces",
    )
    add_cli_options(
        parser,
        _TARGET_OPTIONS,
        # No embedded reference here: the report's target is the default.
        helps={
            "base-url": "the target, e.g. https://host/api/v2 (default: the report's target, "
            "when it is an http(s) URL)"
        },
    )
    parser.set_defaults(handler=run_replay)


def _settings(args: argparse.Namespace, target: str) -> Settings:
    """The options and environment as ``run`` resolves them; the report's target when they name
    none."""
    settings = resolve_cli(args, _TARGET_OPTIONS)
    if settings.base_url is not None:
        return settings
    # A report shows its target redacted: one that held credentials is of no use.
    if not re.match(r"https?://", target) or MARKER in target:
        raise UsageError(
            "--base-url",
            "(not given)",
            f"the target's URL: the report's target {target!r} is not one to send to",
        )
    return resolve_cli(args, _TARGET_OPTIONS, base_url=target)


def run_replay(args: argparse.Namespace) -> int:
    """``jobs-conformance replay``: one line per finding; the exit code of the worst."""
    from jobs_conformance.client import Client, ClientSettings

    times = getattr(args, "times", DEFAULT_TIMES)
    if not isinstance(times, int) or not 1 <= times <= _MAX_TIMES:
        raise UsageError("--times", times, f"a whole number from 1 to {_MAX_TIMES}")
    target, findings = load_findings(args.source)
    chosen = select_findings(findings, list(args.findings or ()), every=bool(args.every))
    settings = _settings(args, target)
    if settings.insecure:
        sys.stderr.write(
            "jobs-conformance: warning: --insecure: TLS certificates are NOT verified\n"
        )
    redactor = Redactor.for_settings(settings, settings.headers)
    if args.emit_pytest:
        for finding in chosen:
            if finding.get("probe") is None:
                print(
                    f"{finding['id']}: no test written: no request to send again", file=sys.stderr
                )
            else:
                print(f"wrote {emit_pytest(finding, args.emit_pytest)}", file=sys.stderr)
    if not chosen:
        print("no findings to replay", file=sys.stderr)
        return int(ExitCode.NO_VERDICT)
    client = Client(
        ClientSettings.of(settings, base_url=str(settings.base_url), headers=settings.headers),
        redactor,
    )
    contract = load_contract()
    verdicts = []
    try:
        for finding in chosen:
            replayed = replay(
                finding,
                client,
                times=times,
                auth_headers=settings.auth_headers,
                seed_url=settings.seed_url,
                contract=contract,
            )
            verdicts.append(replayed.verdict)
            print(
                redactor.text(f"{finding['id']}  {replayed.text}  [{_one_line(finding['class'])}]"),
                flush=True,
            )
    finally:
        client.close()
    return int(_exit_code(verdicts))


def _exit_code(verdicts: Sequence[Verdict]) -> ExitCode:
    # 0 only when every finding is judged fixed: one left without a verdict is not fixed.
    if any(v in (Verdict.STILL_FAILING, Verdict.FLAKY) for v in verdicts):
        return ExitCode.VIOLATIONS
    if any(v is Verdict.NO_VERDICT for v in verdicts):
        return ExitCode.NO_VERDICT
    return ExitCode.CONFORMING
