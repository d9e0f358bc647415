"""``jobs-conformance``: validate | serve | run | report.

Every command ends with an :class:`~jobs_conformance.errors.ExitCode`: 0
conforming, 1 violations, 2 no verdict, 4 usage error. Misuse is reported in
one line on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from jobs_conformance.errors import ExitCode, SuiteError, UsageError

__all__ = ["main", "run_arguments", "run_invocation"]


class _Parser(argparse.ArgumentParser):
    # argparse exits 2 on a bad option, which is our "no verdict" code.
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jobs-conformance", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser(
        "validate",
        help="judge captured response bodies against the contract",
        description="Judge captured 200 bodies. Prints one JSON line per body.",
    )
    validate.add_argument(
        "files", nargs="*", default=["-"], metavar="FILE", help="body files; '-' is stdin"
    )
    validate.add_argument("--jsonl", action="store_true", help="each non-blank line is one body")
    validate.add_argument("--strict", action="store_true", help="should-level violations fail too")
    validate.add_argument("--content-type", help="judge bodies as served with this Content-Type")
    validate.set_defaults(handler=_validate)

    serve = commands.add_parser(
        "serve",
        help="run the embedded reference server",
        description="Serve GET /api/v2/jobs/{jobId} from SQLite on loopback until Ctrl-C.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, default=0, help="port to bind; 0 picks a free one (default)"
    )
    serve.add_argument(
        "--db",
        default=":memory:",
        help="SQLite file; created and seeded with the corpus when empty",
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="inject a fault (repeatable); see --list-faults",
    )
    serve.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="serve a conforming variant (repeatable)",
    )
    serve.add_argument(
        "--allow-seeding", action="store_true", help="enable PUT /api/v2/__seed/jobs/{jobId}"
    )
    serve.add_argument(
        "--api-key",
        default=os.environ.get("JOBS_REFERENCE_API_KEY"),
        help="require the header X-Api-Key with this value [env JOBS_REFERENCE_API_KEY]",
    )
    serve.add_argument(
        "--latency-ms", type=_non_negative, default=0, help="delay every response by N ms"
    )
    serve.add_argument("--threads", type=_positive, default=8, help="worker threads (default 8)")
    serve.add_argument(
        "--list-faults", action="store_true", help="list faults and variants, then exit"
    )
    serve.set_defaults(handler=_serve)

    run = commands.add_parser(
        "run",
        help="run the contract suite against a target (default: the embedded reference)",
        description="Run the contract suite through pytest, print the per-requirement table, "
        "write reports. Exit 0 conforming, 1 violations, 2 no verdict, 4 usage error.",
    )
    _add_run_options(run)
    run.set_defaults(handler=_run)

    report = commands.add_parser(
        "report",
        help="re-render HTML, Markdown and badge from a saved conformance.json",
        description="Render conformance.html, conformance.md and badge.svg from a conformance.json "
        "(for example one produced on another machine).",
    )
    sources = report.add_mutually_exclusive_group(required=True)
    sources.add_argument("--from", dest="source", metavar="FILE", help="a conformance.json")
    sources.add_argument(
        "--compare",
        nargs=2,
        metavar=("OLD", "NEW"),
        help="show the findings of NEW as new, fixed or unchanged since OLD (two "
        "conformance.json), without running again; with --report-dir, also write the reports",
    )
    sources.add_argument(
        "--merge",
        nargs="+",
        metavar="FILE",
        help="merge the records of observe or audit parts (--shard K/N, or separate inputs) "
        "into the report of one run over all of them; exit code of the merged verdict",
    )
    report.add_argument(
        "--report-dir",
        help="where to write (default: the folder of --from; --compare: none; --merge: reports)",
    )
    report.set_defaults(handler=_report)

    waive = commands.add_parser(
        "waive",
        help="accept findings of a report as debt, with a reason and an expiry date",
        description="Append a waiver for each FINDING id of a conformance.json to the waiver "
        "file; or, with --prune, remove the waivers that report found stale.",
    )
    waive.add_argument("findings", nargs="*", metavar="FINDING", help="finding ids of the report")
    waive.add_argument(
        "--from", dest="source", required=True, metavar="FILE", help="a conformance.json"
    )
    waive.add_argument("--reason", help="why the finding is accepted (required to waive)")
    waive.add_argument("--expires", help="YYYY-MM-DD, after today (required to waive)")
    waive.add_argument("--owner", help="who owns the fix")
    waive.add_argument("--ticket", help="where the fix is tracked")
    waive.add_argument("--target", help="only for targets matching this pattern (fnmatch)")
    waive.add_argument(
        "--waivers",
        default=None,
        help="the waiver file (default conformance-waivers.toml in the working directory)",
    )
    waive.add_argument(
        "--prune", action="store_true", help="remove the report's stale waivers from the file"
    )
    waive.set_defaults(handler=_waive)

    from jobs_conformance.replay import add_parser as add_replay_parser

    add_replay_parser(commands)
    from jobs_conformance.observe import add_parser as add_observe_parser

    add_observe_parser(commands)
    from jobs_conformance.audit import add_parser as add_audit_parser

    add_audit_parser(commands)
    return parser


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    from jobs_conformance.settings import OPTIONS

    for entry in OPTIONS:
        parser.add_argument(entry.cli_flag, **entry.arguments(entry.dest))
    parser.add_argument(
        "pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="extra arguments for pytest"
    )


def _integer(text: str, low: int, high: int | None, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value


def _port(text: str) -> int:
    return _integer(text, 0, 65535, "a port number 0-65535")


def _non_negative(text: str) -> int:
    return _integer(text, 0, None, "a whole number, 0 or more")


def _positive(text: str) -> int:
    return _integer(text, 1, None, "a whole number, 1 or more")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> ExitCode:
    from jobs_conformance.reference.faults import FAULTS, VARIANTS
    from jobs_conformance.reference.server import ReferenceServer

    if args.list_faults:
        width = max(len(name) for name in [*FAULTS, *VARIANTS])
        for name, fault in sorted(FAULTS.items()):
            print(f"{name:<{width}}  {' '.join(sorted(fault.requirements))}  {fault.summary}")
        for name, variant in sorted(VARIANTS.items()):
            print(f"{name:<{width}}  (conforming variant)  {variant.summary}")
        return ExitCode.CONFORMING
    server = ReferenceServer(
        host=args.host,
        port=args.port,
        db=args.db,
        faults=args.fault,
        variants=args.variant,
        api_key=args.api_key,
        allow_seeding=args.allow_seeding,
        latency_ms=args.latency_ms,
        threads=args.threads,
    )
    base_url = server.start()
    try:
        # Stopped by a service manager, `docker stop` or the suite itself: the
        # same clean stop as Ctrl-C, from the moment the URL is announced.
        signal.signal(signal.SIGTERM, _interrupt)
        print(base_url, flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return ExitCode.CONFORMING


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SuiteError as exc:
        print(f"jobs-conformance {args.command}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"jobs-conformance {args.command}: interrupted", file=sys.stderr)
        return int(ExitCode.NO_VERDICT)
    except BrokenPipeError:
        # The reader went away (`| head`): the output was cut short, so no
        # verdict, and nothing more goes to that pipe.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.NO_VERDICT)


def _validate(args: argparse.Namespace) -> ExitCode:
    """Captured 200 bodies: the simplest input of ``observe``'s reading and judging."""
    from jobs_conformance.contract import load_contract
    from jobs_conformance.observe import Observed, exchanges_of
    from jobs_conformance.oracle import judge
    from jobs_conformance.recordings import Reading, read_records

    if args.files.count("-") > 1:
        # A second read of stdin finds it empty: an empty body would be judged, and failed.
        raise UsageError("FILE", "-", "standard input named once (it can be read only once)")
    contract = load_contract()
    headers = (("Content-Type", args.content_type),) if args.content_type is not None else ()
    reading, failed, out = Reading(), False, sys.stdout
    for name in args.files:
        shown = len(reading.messages)
        records = read_records(name, "bodies", reading, jsonl=args.jsonl, headers=headers)
        for source, exchange in exchanges_of(records, Observed(), contract=contract):
            judgement = judge(exchange, contract)
            bad = judgement.failed(strict=args.strict) or bool(judgement.crashes)
            failed = failed or bad
            record: dict[str, Any] = {
                "source": source,
                "ok": not bad,
                "violations": [v.to_dict() for v in judgement.violations],
            }
            if judgement.crashes:
                record["crashed_checks"] = [c.requirement for c in judgement.crashes]
            out.write(json.dumps(record) + "\n")
        for message in reading.messages[shown:]:
            print(f"jobs-conformance validate: {message}", file=sys.stderr)
    out.flush()
    if reading.unreadable:
        return ExitCode.NO_VERDICT
    return ExitCode.VIOLATIONS if failed else ExitCode.CONFORMING


def _run(args: argparse.Namespace) -> int:
    """The contract suite through pytest and the plugin: the options resolve there, once."""
    import pytest

    # A gate's run is not changed by options meant for a project's own tests.
    os.environ.pop("PYTEST_ADDOPTS", None)
    arguments, plugins = _invocation(args)
    return int(pytest.main(arguments, plugins=plugins))


def run_invocation(argv: Sequence[str]) -> tuple[list[str], list[object]]:
    """What ``jobs-conformance run ARGV`` hands ``pytest.main``: its arguments and plugins."""
    return _invocation(_build_parser().parse_args(["run", *argv]))


def _invocation(args: argparse.Namespace) -> tuple[list[str], list[object]]:
    from jobs_conformance.settings import OPTIONS, CliSpelling

    given: list[str] = []
    for entry in OPTIONS:
        value = getattr(args, entry.dest)
        if entry.kind == "list":
            given += [arg for item in value or () for arg in (entry.pytest_flag, item)]
        elif entry.kind == "flag":
            given += [entry.pytest_flag] if value else []
        elif value is not None:
            given.append(f"{entry.pytest_flag}={value}")
    return [*run_arguments(args.pytest_args), *given, *args.pytest_args], [CliSpelling()]


def run_arguments(extra: Sequence[str] = ()) -> list[str]:
    """The pytest arguments of ``jobs-conformance run``, before its options and ``extra``.

    The contract suite alone, with the plugin; what a project configures
    for its own tests (``addopts``) does not apply.
    """
    from jobs_conformance.plugin import SUITE_MODULE

    # Plugins a conformance run does not use; each costs start-up time.
    # schemathesis's own pytest plugin (the suite uses its library, not its
    # plugin) and anyio come with the schemathesis extra; unraisableexception
    # collects garbage several times over at the end; randomly would reorder
    # what the run orders itself (and imports numpy to reseed it); xdist is
    # kept when asked for with -n.
    unused = [
        "doctest",
        "pastebin",
        "junitxml",
        "anyio",
        "schemathesis",
        "benchmark",
        "unraisableexception",
        "randomly",
    ]
    if not any(a.startswith(("-n", "--numprocesses")) for a in extra):
        unused.append("xdist")
    return [
        # The suite's own names, whatever the project configures for its tests.
        "-o",
        "python_files=test_*.py",
        "-o",
        "python_functions=test_*",
        "-o",
        "python_classes=Test*",
        "-p",
        "jobs_conformance",
        # pytest-base-url's --base-url, even where plugin autoloading is off.
        "-p",
        "base_url",
        "--pyargs",
        SUITE_MODULE,
        "-o",
        "addopts=",
        "-p",
        "no:cacheprovider",
        # The contract tests raise AssertionError with their own messages;
        # rewriting would re-compile every module of every plugin on each
        # run without a bytecode cache: about 2.5 s of a 5 s run.
        "--assert=plain",
        # Nothing runs below Python's own streams: sys-level capture skips
        # the temporary files that fd-level capture rewinds and reads per test.
        "--capture=sys",
        *(arg for name in unused for arg in ("-p", f"no:{name}")),
        "-q",
        "--no-header",
        "--tb=no",
        "-rN",
    ]


def _record(argument: str, name: str) -> dict[str, Any]:
    """A conformance.json, read and validated against its schema (a UsageError if it is not one)."""
    import jsonschema

    from jobs_conformance.contract import default_spec_dir

    try:
        report = json.loads(Path(name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UsageError(argument, name, f"a readable conformance.json ({exc})") from exc
    schema = json.loads(
        (default_spec_dir() / "conformance.schema.json").read_text(encoding="utf-8")
    )
    problem = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(report)
    )
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path) or "(top level)"
        raise UsageError(argument, name, f"a conformance.json report ({where}: {problem.message})")
    return report


def _report(args: argparse.Namespace) -> ExitCode:
    from jobs_conformance.gate import compare_records
    from jobs_conformance.render import write_human_reports

    if args.merge:
        return _merge(args)
    if args.compare:
        old, new = args.compare
        report = compare_records(_record("--compare", old), _record("--compare", new), old)
        source = Path(new)
        baseline = report["baseline"]
        for status in ("new", "unchanged"):
            ids = [f["id"] for f in report["findings"] if f["since_baseline"] == status]
            print(f"{status:<9} {len(ids):>3}  {' '.join(ids)}")
        fixed = " ".join(f["id"] for f in baseline["fixed"])
        print(f"{'fixed':<9} {len(baseline['fixed']):>3}  {fixed}")
        if not args.report_dir:
            # The comparison alone: NEW's own reports stay as its run wrote them.
            return ExitCode.CONFORMING
    else:
        report, source = _record("--from", args.source), Path(args.source)
    report_dir = Path(args.report_dir) if args.report_dir else source.parent
    for path in write_human_reports(report, report_dir):
        print(path)
    return ExitCode.CONFORMING


def _merge(args: argparse.Namespace) -> ExitCode:
    from jobs_conformance.merge import merge_records
    from jobs_conformance.redact import Redactor
    from jobs_conformance.render import show_command_reports
    from jobs_conformance.report import report_folder

    report_dir = report_folder(Path(args.report_dir or "reports"))
    records = [_record("--merge", name) for name in args.merge]
    try:
        report = merge_records(records, args.merge)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # The schema leaves a part's partial results open (each command adds its own):
        # what does not add up is the input's fault, said as such.
        raise UsageError(
            "--merge", ", ".join(args.merge), f"records whose partial results merge ({exc!r})"
        ) from exc
    return ExitCode(
        show_command_reports(
            report, report_dir, case=f"{report['partial']['kind']}::merged", redactor=Redactor()
        )
    )


def _waive(args: argparse.Namespace) -> ExitCode:
    import datetime

    from jobs_conformance.contract import load_contract
    from jobs_conformance.waivers import (
        DEFAULT_PATH,
        append_waiver,
        load_waivers,
        prune,
        waiver_entry,
    )

    report = _record("--from", args.source)
    path = Path(args.waivers) if args.waivers else DEFAULT_PATH
    if args.prune:
        if args.findings:
            raise UsageError("--prune", " ".join(args.findings), "no finding ids with --prune")
        # By key, in the file as it is now (it may have been edited since the run).
        stale = {w["key"] for w in report["waivers"]["stale"]}
        waivers = load_waivers(
            path,
            explicit=True,
            catalogue=[r.id for r in load_contract().requirements],
            source="--waivers",
        )
        removed = prune(path, [w for w in waivers if w.key in stale])
        print(f"{path}: {removed} stale waiver{'s' if removed != 1 else ''} removed")
        return ExitCode.CONFORMING
    if not args.findings:
        raise UsageError("FINDING", "", "one or more finding ids of the report (or --prune)")
    by_id = {f["id"]: f for f in report["findings"]}
    unknown = [f for f in args.findings if f not in by_id]
    if unknown:
        raise UsageError("FINDING", " ".join(unknown), f"finding ids of {args.source}")
    if not args.expires:
        raise UsageError("--expires", "", "a date, YYYY-MM-DD")
    try:
        expires = datetime.date.fromisoformat(args.expires)
    except ValueError:
        raise UsageError("--expires", args.expires, "a date, YYYY-MM-DD") from None
    entries = {
        finding_id: waiver_entry(
            by_id[finding_id],
            reason=args.reason or "",
            expires=expires,
            today=datetime.date.today(),
            owner=args.owner,
            ticket=args.ticket,
            target=args.target,
        )
        for finding_id in args.findings
    }
    # Waiving again renews: the earlier waiver of the finding (for the same target) goes,
    # once the new one is known to be valid.
    earlier = [
        w
        for w in load_waivers(
            path,
            explicit=False,
            catalogue=[r.id for r in load_contract().requirements],
            source="--waivers",
        )
        if w.finding in entries and w.target == args.target
    ]
    if earlier:
        prune(path, earlier)
    for finding_id, entry in entries.items():
        append_waiver(path, entry)
        print(f"{path}: waived {finding_id} until {expires.isoformat()}")
    return ExitCode.CONFORMING


def console_main() -> NoReturn:
    """The console script: :func:`main`, then exit without tearing the interpreter down.

    Everything a command produces (reports, output) is complete when
    :func:`main` returns, and the embedded reference is stopped. Interpreter
    finalization would then spend about 0.15 s freeing the modules of
    pytest, Hypothesis and schemathesis one object at a time, on every run
    of a gate that runs many times a day.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away (| head) takes nothing more; a closed one (>&-) is None.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_main()
