"""``jobs-conformance``: validate | serve | run | report.

Every command ends with an :class:`~jobs_conformance.errors.ExitCode`: 0
conforming, 1 violations, 2 no verdict, 4 usage error. Misuse is reported in
one line on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from jobs_conformance.errors import ExitCode, SuiteError

__all__ = ["main"]


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

    return parser


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


def _bodies(args: argparse.Namespace) -> Iterator[tuple[str, bytes | None, str | None]]:
    """(source, body, error) for every body named on the command line."""
    for name in args.files:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            yield name, None, f"cannot read {name}: {exc.strerror}"
            continue
        if not args.jsonl:
            yield name, data, None
            continue
        for number, line in enumerate(data.split(b"\n"), start=1):
            if line.strip():
                yield f"{name}:{number}", line.rstrip(b"\r"), None


def _validate(args: argparse.Namespace) -> ExitCode:
    from jobs_conformance.contract import load_contract
    from jobs_conformance.oracle import judge_body

    contract = load_contract()
    failed = unreadable = False
    out = sys.stdout
    for source, body, error in _bodies(args):
        if body is None:
            print(f"jobs-conformance validate: {error}", file=sys.stderr)
            unreadable = True
            continue
        judgement = judge_body(body, args.content_type, contract)
        bad = judgement.failed(strict=args.strict) or bool(judgement.crashes)
        failed = failed or bad
        record = {
            "source": source,
            "ok": not bad,
            "violations": [v.to_dict() for v in judgement.violations],
        }
        if judgement.crashes:
            record["crashed_checks"] = [c.requirement for c in judgement.crashes]
        out.write(json.dumps(record) + "\n")
    out.flush()
    if unreadable:
        return ExitCode.NO_VERDICT
    return ExitCode.VIOLATIONS if failed else ExitCode.CONFORMING


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
