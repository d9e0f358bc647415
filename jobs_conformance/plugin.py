"""The pytest plugin: hooks only. Loaded where a session asks for it, and then it runs the contract suite.

``pytest -p jobs_conformance`` (or ``pytest_plugins = ["jobs_conformance"]``
in a project's conftest, or ``jobs-conformance run``) loads it; nothing loads
it otherwise, so installing the package changes no other session. Loaded,
it resolves the run's :class:`~jobs_conformance.settings.Settings`, adds the
contract suite to what the session collects, selects the Hypothesis profile
for the contract tests (never globally), and hands everything else to
:class:`~jobs_conformance.session.ConformanceSession`: the target, the
client, the record, and the exit code (0 conforming, 1 violations, 2 no
verdict, 4 usage error).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis.configuration
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from jobs_conformance import __version__, profiles
from jobs_conformance.contract import contract_tests_dir
from jobs_conformance.errors import ExitCode, UsageError
from jobs_conformance.fixtures import SESSION_KEY, conformance_session
from jobs_conformance.outcomes import Kind, Outcome, classify
from jobs_conformance.redact import redact_url
from jobs_conformance.render import render_console
from jobs_conformance.session import ConformanceSession
from jobs_conformance.settings import OPTIONS, CliSpelling, Option, Settings, option, resolve
from jobs_conformance.signals import StopSignals

SUITE_MODULE = "jobs_conformance.contract_tests"
# Collected only when asked for (--schemathesis, or the thorough profile with
# schemathesis installed): importing schemathesis is most of what it costs.
SCHEMATHESIS_MODULE = "test_schemathesis.py"
_XDIST_KEY = "jobs_conformance"
# Where Hypothesis's pytest plugin keeps a test's failing examples for its patch writer.
_HYPOTHESIS_PATCH_KEY = "_hypothesis_failing_examples"
_SUITE_KEY = pytest.StashKey[Path]()
_CACHE_KEY = pytest.StashKey[tempfile.TemporaryDirectory]()  # type: ignore[type-arg]
_STOPS_KEY = pytest.StashKey[StopSignals]()
_HOME_KEY = pytest.StashKey["Path | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jobs-conformance", "Jobs API conformance (the target: --base-url)")
    for entry in OPTIONS:
        if entry.foreign:
            continue
        group.addoption(entry.pytest_flag, **entry.arguments(entry.pytest_dest))
        parser.addini(
            entry.ini,
            help=entry.help,
            # One value a line: a header's value may hold spaces.
            type="linelist" if entry.kind == "list" else "string",
            default=None,
        )


@pytest.hookimpl(trylast=True)  # after pytest-base-url has resolved --base-url
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): catalogue requirements a contract test checks"
    )
    config.addinivalue_line("markers", "seeding: the test stores jobs on the target (runs last)")
    if config.option.help or config.option.version:
        return  # `pytest -p jobs_conformance --help` shows the options; nothing runs
    settings, spelling = _resolve(config)
    profiles.select(settings.profile)
    try:
        # Reads the waiver file and the baseline: a bad one is a usage error.
        session = ConformanceSession(
            settings, schemathesis=_schemathesis(settings, spelling), spell=spelling
        )
    except UsageError as exc:
        raise pytest.UsageError(f"jobs-conformance: {exc}") from None
    config.stash[SESSION_KEY] = session
    config.stash[_SUITE_KEY] = contract_tests_dir().resolve()
    _collect_the_suite(config)
    _keep_hypothesis_out_of_the_working_directory(config, settings)
    if settings.insecure:
        # On stderr, whatever the capture and warning filters: it must be seen.
        flag = spelling(option("insecure"))
        sys.stderr.write(f"jobs-conformance: warning: {flag}: TLS certificates are NOT verified\n")
    # SIGTERM and SIGHUP (CI cancelling the job) stop the run as Ctrl-C does.
    stops = StopSignals()
    stops.install()
    config.stash[_STOPS_KEY] = stops
    # Boot the embedded server while pytest collects, in a process that runs
    # tests: not a pytest-xdist controller.
    if config.option.collectonly:
        return  # nothing is sent: no target to start
    if getattr(config.option, "numprocesses", None) and not _is_worker(config):
        # A pytest-xdist controller collects nothing itself, yet writes the
        # one report, even when stopped before a worker reported.
        session.active = True
    else:
        session.boot_embedded()


def _resolve(config: pytest.Config) -> tuple[Settings, Callable[[Option], str]]:
    """The run's settings, and how its options are spelt to the user (CLI or pytest)."""
    by_cli = any(isinstance(p, CliSpelling) for p in config.pluginmanager.get_plugins())
    spelling: Callable[[Option], str] = (
        (lambda o: o.cli_flag) if by_cli else (lambda o: o.pytest_flag)
    )

    def ini(entry: Option) -> Any:
        try:
            return config.getini(entry.ini) or None
        except ValueError:  # base_url, when pytest-base-url is not loaded
            return None

    given = {entry.dest: config.getoption(entry.pytest_dest, None) for entry in OPTIONS}
    # pytest-base-url folds PYTEST_BASE_URL and its ini key into --base-url;
    # only a URL given on the command line is the option's, so that a bad
    # one is named the way it was given.
    if not any(
        arg == "--base-url" or arg.startswith("--base-url=") for arg in _command_line(config)
    ):
        given["base_url"] = None
    try:
        return resolve(given, ini=ini, spelling=spelling), spelling
    except UsageError as exc:
        raise pytest.UsageError(f"jobs-conformance: {exc}") from None


def _command_line(config: pytest.Config) -> list[str]:
    """The arguments as given: the command line, ``addopts`` and PYTEST_ADDOPTS."""
    return [str(a) for a in (*config.invocation_params.args, *config.getini("addopts"))] + (
        os.environ.get("PYTEST_ADDOPTS", "").split()
    )


def _schemathesis(settings: Settings, spelling: Callable[[Option], str]) -> bool:
    installed = importlib.util.find_spec("schemathesis") is not None
    if settings.schemathesis and not installed:
        missing = UsageError(
            spelling(option("schemathesis")),
            "on",
            "schemathesis installed: pip install 'jobs-conformance[schemathesis]'",
        )
        raise pytest.UsageError(f"jobs-conformance: {missing}")
    return installed and (settings.schemathesis or settings.profile == "thorough")


# What a regression test written by `replay --emit-pytest` declares.
REGRESSION_MARK = "JOBS_CONFORMANCE_REGRESSION = True"


def _regression_files_only(config: pytest.Config) -> bool:
    """Whether every argument names regression tests written by ``replay --emit-pytest``."""
    files = []
    for arg in config.args:
        path = config.invocation_params.dir / str(arg).split("::", 1)[0]
        files += sorted(path.glob("test_*.py")) if path.is_dir() else [path]
    try:
        return bool(files) and all(REGRESSION_MARK in f.read_text("utf-8") for f in files)
    except (OSError, UnicodeDecodeError):
        return False


def _collect_the_suite(config: pytest.Config) -> None:
    """Add the contract suite to what this session collects, unless an argument names it already
    or the arguments are regression tests written by ``replay --emit-pytest`` (they run alone)."""
    suite = config.stash[_SUITE_KEY]
    if _regression_files_only(config):
        return
    for arg in config.args:
        name = str(arg).split("::", 1)[0]
        if config.option.pyargs and (name == SUITE_MODULE or name.startswith(SUITE_MODULE + ".")):
            return
        path = (config.invocation_params.dir / name).resolve()
        if path == suite or suite in path.parents:
            return
    config.args.append(str(suite))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _session(config: pytest.Config) -> ConformanceSession:
    session = conformance_session(config)
    assert session is not None, "pytest_configure creates it"
    return session


def _in_suite(item: pytest.Item) -> bool:
    return item.config.stash[_SUITE_KEY] in Path(item.path).resolve().parents


def _test_name(item: pytest.Item) -> str:
    """``contract/test_ids.py::test_...``: the same wherever the package is installed."""
    relative = Path(item.path).resolve().relative_to(item.config.stash[_SUITE_KEY])
    return "::".join(["contract/" + relative.as_posix(), *item.nodeid.split("::")[1:]])


def _requirements_of(item: pytest.Item) -> tuple[str, ...]:
    ids = [i for mark in item.iter_markers("requirement") for i in mark.args]
    return tuple(dict.fromkeys(ids))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    session = conformance_session(config)
    if (
        session is not None
        and collection_path.name == SCHEMATHESIS_MODULE
        and collection_path.parent.resolve() == config.stash[_SUITE_KEY]
        and not session.schemathesis
    ):
        return True
    return None


def pytest_report_header(config: pytest.Config) -> list[str]:
    session = conformance_session(config)
    if session is None:
        return []
    settings = session.settings
    seeding = redact_url(settings.seed_url) if settings.seed_url else None
    seeding = seeding or ("embedded" if session.embedded else "off")
    target = redact_url(settings.base_url) if settings.base_url else "embedded reference server"
    return [
        f"jobs-conformance {__version__}: target {target}",
        f"  known jobs {len(session.known_ids)}, seeding {seeding}, strict {settings.strict}, "
        f"profile {settings.profile}, schemathesis {'on' if session.schemathesis else 'off'}",
    ]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    run = _session(config)
    catalogue = {r.id for r in run.contract.requirements}
    positions = [n for n, item in enumerate(items) if _in_suite(item)]
    for n in positions:
        unknown = set(_requirements_of(items[n])) - catalogue
        if unknown:
            raise pytest.UsageError(f"{items[n].nodeid}: unknown requirement ids {sorted(unknown)}")
    # Known-job tests judge what is fetched in the background from the start,
    # so they come after the property tests; seeding adds jobs to the target,
    # so it comes last. Only the contract tests move: a project's own tests
    # in the same session keep their order.
    ordered = sorted(
        (items[n] for n in positions),
        key=lambda item: (
            item.get_closest_marker("seeding") is not None,
            "conformance_known" in getattr(item, "fixturenames", ()),
        ),
    )
    for n, item in zip(positions, ordered, strict=True):
        items[n] = item
    # Loaded, the plugin owes a verdict: a selection (-k, -m) or a project's
    # python_files/python_functions that leave no contract test is no verdict
    # (exit 2, with the reason), never "no tests ran" or a pass.
    regressions = [
        i
        for i in items
        if getattr(getattr(i, "module", None), "JOBS_CONFORMANCE_REGRESSION", False)
    ]
    if regressions and not positions:
        # Regression tests alone: their own outcomes are the verdict; no record is written.
        return
    run.active = True
    if not positions:
        run.notes.append(
            "No contract test was collected (a -k or -m selection, or the project's "
            "python_files / python_functions settings): nothing was checked."
        )
    if len(positions) < len(items) and _HOME_KEY in config.stash:
        # A project's own tests run here too: their examples and caches stay
        # in that project's Hypothesis folder, as without the plugin.
        set_hypothesis_home_dir(config.stash[_HOME_KEY])


def _keep_hypothesis_out_of_the_working_directory(
    config: pytest.Config, settings: Settings
) -> None:
    # Hypothesis keeps caches (its character map, the constants it collects
    # from source files) in ./.hypothesis, some while the contract modules
    # are imported. A conformance run puts them in the user's cache folder,
    # or a temporary one, and leaves the working directory alone. Where
    # HYPOTHESIS_STORAGE_DIRECTORY is set, that is the user's choice.
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    # What a project set itself comes back once the run is over (unconfigure).
    config.stash[_HOME_KEY] = vars(hypothesis.configuration).get("__hypothesis_home_directory")
    if settings.cache_dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="jobs-conformance-")
        config.stash[_CACHE_KEY] = temporary
        set_hypothesis_home_dir(Path(temporary.name) / "hypothesis")
    else:
        set_hypothesis_home_dir(settings.cache_dir / "hypothesis")


def pytest_deselected(items: list[pytest.Item]) -> None:
    """A selection (-k, -m) left contract tests out: their requirements are not judged completely
    (a waiver of theirs is not stale, a baseline finding not fixed)."""
    for item in items:
        session = conformance_session(item.config)
        if session is not None and _in_suite(item):
            session.deselected.update(_requirements_of(item))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if _in_suite(item):
        _session(item.config).recorder.start(_test_name(item))


def pytest_runtest_teardown(item: pytest.Item) -> None:
    stops = item.config.stash.get(_STOPS_KEY, None)
    if stops is not None and stops.received and not item.session.shouldstop:
        # A stop whose KeyboardInterrupt was swallowed where it landed (in a finalizer,
        # whose exceptions Python only prints; in a library that catches everything)
        # still ends the run, at this test's end.
        item.session.shouldstop = f"stopped by {stops.received}"
    if _in_suite(item):
        # Hypothesis's plugin turns a failing example into an @example patch
        # for the test's source file. For a contract test that patch is of no
        # use (the counterexample is in the report, the source is the suite's)
        # and building it imports libcst: about 0.2 s per failing test.
        item.__dict__.pop(_HYPOTHESIS_PATCH_KEY, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    session = _session(item.config)
    if not _in_suite(item):
        return report  # a project's own test: pytest counts its failure (sessionfinish)
    if not (call.when == "call" or (call.when == "setup" and report.outcome != "passed")):
        return report
    excinfo = call.excinfo
    classified = (
        classify(excinfo.value) if excinfo is not None and report.outcome != "skipped" else None
    )
    if classified is not None and call.when == "setup" and classified.kind is Kind.VIOLATION:
        # A fixture that fails is the suite's problem, never a verdict on the target.
        classified = Outcome(Kind.CRASH, classified.message)
    message = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
    elif report.failed and excinfo is not None:
        message = f"{type(excinfo.value).__name__}: {excinfo.value}"
    outcome = session.file_outcome(
        _test_name(item),
        report.outcome,
        report.duration,
        _requirements_of(item),
        message,
        classified,
    )
    if outcome == "skipped" and report.outcome != "skipped" and classified is not None:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), 0, f"Skipped: {classified.message}")
    if classified is not None and classified.kind is Kind.UNREACHABLE:
        item.session.shouldstop = f"target unreachable: {classified.message}"
    return report


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: fold a finished worker's results into the controller's."""
    data = getattr(node, "workeroutput", {}).get(_XDIST_KEY)
    if data:
        session = _session(node.config)
        session.active = True
        session.merge_worker(data)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = _session(session.config)
    if not run.active or session.config.option.collectonly:
        # --collect-only judges nothing: the last real record stays as it is.
        run.stop(abandon=exitstatus == pytest.ExitCode.INTERRUPTED)
        return
    if _is_worker(session.config):
        # Under pytest-xdist each worker sends what it gathered to the
        # controller, which writes the one report.
        session.config.workeroutput[_XDIST_KEY] = run.worker_data()  # type: ignore[attr-defined]
        return
    stops = session.config.stash.get(_STOPS_KEY, None)
    # A stop signal received is an interruption, however the session ended after it.
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or bool(stops and stops.received)
    with stops.finishing() if stops else contextlib.nullcontext():
        report = run.finish(
            interrupted=interrupted,
            seed="derandomized"
            if profiles.derandomized()
            else str(session.config.getoption("hypothesis_seed", None) or "random"),
            stopped_by=stops.received if stops and interrupted else None,
        )
    if run.report_error:
        session.exitstatus = int(ExitCode.NO_VERDICT)
        return
    if session.testsfailed > run.contract_failures():
        # Some test other than a contract test failed (pytest counts every
        # failure, a worker's too): its status stands, whatever the verdict.
        return
    session.exitstatus = {"pass": ExitCode.CONFORMING, "fail": ExitCode.VIOLATIONS}.get(
        report["verdict"], ExitCode.NO_VERDICT
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = _session(config)
    if run.report is None:
        return
    terminalreporter.section("jobs-conformance")
    for line in render_console(
        run.report, report_dir=run.settings.report_dir, problem=run.report_error
    ):
        terminalreporter.write_line(line.text, bold=line.bold, red=line.red, green=line.green)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _HOME_KEY in config.stash:
        set_hypothesis_home_dir(config.stash[_HOME_KEY])
    session = conformance_session(config)
    stops = config.stash.get(_STOPS_KEY, None)
    if session is not None:
        session.stop(abandon=bool(stops and stops.received))
    if stops is not None:
        stops.restore()
    temporary = config.stash.get(_CACHE_KEY, None)
    if temporary is not None:
        temporary.cleanup()
