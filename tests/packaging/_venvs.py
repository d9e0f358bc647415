"""Wheels, fresh virtual environments and subprocesses for the packaging tests, all offline.

The wheel is built from a clean copy of the tracked files (what a fresh
clone holds: no egg-info, no reports, no caches) with the build backend the
test environment already has (``--no-build-isolation --no-index``), and
installed without dependencies: the dependencies come from the test
environment, so nothing here reaches beyond loopback.

The environment, :func:`overlay_venv`: a venv without the system
site-packages, whose own site-packages links every entry of the test
environment's site-packages except the files of the installed
jobs-conformance distribution (the files its RECORD lists: what ``pip
uninstall jobs-conformance`` would remove). It is the test environment
minus jobs-conformance, exactly; the wheel is then installed into it.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import re
import select
import shutil
import site
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTION = "jobs-conformance"
# Generous: the suite runs beside other tests on two cores.
TIMEOUT_S = 180.0

# Variables that would steer a child pytest or Python away from what a user
# gets in a fresh shell (the suite's own pytest-xdist worker, coverage, a
# project's PYTEST_ADDOPTS, the checkout on PYTHONPATH). CI too: where it is
# set, Hypothesis loads a "ci" profile of its own, and the unrelated project's
# settings are compared with Hypothesis's plain defaults.
_DROPPED_PREFIXES = ("PYTEST_", "JOBS_CONFORMANCE", "JOBS_REFERENCE", "HYPOTHESIS", "COV_CORE_")
_DROPPED = {
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "XDG_CACHE_HOME",
    "COVERAGE_PROCESS_START",
    "CI",
}


# The plugins the inertness test installs beside the package (the test extra).
PLUGINS = ("timeout", "randomly", "rerunfailures", "cov")


def clean_checkout(dest: Path) -> Path:
    """Copy the working-tree version of every tracked file of the repository into ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if not source.exists():  # deleted in the working tree, not yet in the index
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return dest


def build_wheel(dest: Path) -> Path:
    """Build jobs-conformance's wheel from a clean checkout, offline; its path in ``dest/dist``."""
    source = clean_checkout(dest / "src")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(dest / "dist"),
            str(source),
        ],
        cwd=dest,
        env=child_env(dest),
    ).check_returncode()
    (wheel,) = (dest / "dist").glob("jobs_conformance-*.whl")
    return wheel


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def built_once(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """``root/name``, built by ``build`` once for every pytest-xdist worker sharing ``root``.

    The first worker builds under a file lock and marks the folder done; the
    others wait for the lock and reuse it. A failed build leaves no mark, so
    the next one retries (and fails the same way, visibly).
    """
    folder = root / name
    with _locked(root / f"{name}.lock"):
        if not (folder / ".done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".done").touch()
    return folder


def python(venv: Path) -> Path:
    return venv / "bin" / "python"


def overlay_venv(path: Path) -> Path:
    """A venv holding the test environment's site-packages, minus the installed jobs-conformance.

    Each entry is a symbolic link, so it costs nothing to build; the
    environment's ``.pth`` files come along and run there as they do here,
    except the editable install's own. ``__pycache__`` stays out: it holds
    the bytecode of the editable finder, and Python makes the venv its own.
    The links point into the test environment: nothing may install or
    uninstall through them, so the venv is checked to hold no
    jobs-conformance before it is handed out.
    """
    run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)],
        cwd=path.parent,
        env=child_env(path.parent),
    ).check_returncode()
    target = Path(
        subprocess.run(
            [str(python(path)), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
    )
    sources = [Path(p) for p in site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        sources.append(Path(site.getusersitepackages()))
    for source in filter(Path.is_dir, sources):
        excluded = installed_names(source)
        for entry in sorted(source.iterdir()):
            if entry.name == "__pycache__" or entry.name in excluded:
                continue
            if not (target / entry.name).exists():  # the first site folder wins, as on sys.path
                (target / entry.name).symlink_to(entry)
    found = run([python(path), "-c", _ABSENT], cwd=path.parent, env=child_env(path.parent))
    assert found.returncode == 0 and found.stdout.split() == ["None", "None"], (
        f"jobs-conformance is still visible in the overlay {path}:\n{described(found)}"
    )
    return path


# In an overlay before the wheel goes in: neither a module nor a distribution.
_ABSENT = """
import importlib.metadata, importlib.util
print(importlib.util.find_spec("jobs_conformance"))
try:
    print(importlib.metadata.distribution("jobs-conformance").locate_file(""))
except importlib.metadata.PackageNotFoundError:
    print(None)
"""


def installed_names(site_dir: Path) -> set[str]:
    """Top-level names in ``site_dir`` of the files jobs-conformance's RECORD lists there.

    Read from that folder's own distributions: ``importlib.metadata`` here
    would find the checkout's ``jobs_conformance.egg-info`` first (the
    checkout is on this process's path).
    """
    names: set[str] = set()
    for dist in importlib.metadata.distributions(path=[str(site_dir)]):
        if (dist.metadata["Name"] or "").lower().replace("_", "-") == DISTRIBUTION:
            names.update(f.parts[0] for f in dist.files or () if f.parts[0] != "..")
    return names


def install_wheel(venv: Path, wheel: Path) -> None:
    """Install ``wheel`` into ``venv`` (not editable; no dependencies, no index).

    Never with --force-reinstall: an overlay's links lead into the test environment.
    """
    run(
        [
            str(python(venv)),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        cwd=venv.parent,
        env=child_env(venv.parent),
    ).check_returncode()


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh shell whose HOME (and so ~/.cache) is ``home``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
    }
    env.update(HOME=str(home), COLUMNS="120", LC_ALL="C.UTF-8", **extra)
    return env


def run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run ``args``, capturing its output as text; its ``.args`` and output are in any failure."""
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def described(result: subprocess.CompletedProcess[str]) -> str:
    """The command, its exit code and its output: what an assertion on it should show."""
    return (
        f"$ {' '.join(result.args)}\nexit {result.returncode}\n"
        f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
    )


@dataclass
class Served:
    """A running ``jobs-conformance serve``: its base URL and process."""

    base_url: str
    process: subprocess.Popen[str]


@contextlib.contextmanager
def serve(venv: Path, *args: str, cwd: Path, env: dict[str, str]) -> Iterator[Served]:
    """``venv/bin/jobs-conformance serve --port 0 ...``; yields once it has printed its URL.

    Stopped with SIGTERM on the way out (killed only if it does not stop);
    its exit code is then in ``served.process.returncode`` for the caller.
    """
    stderr = (cwd.parent / f"{cwd.name}.serve.stderr").open("w")
    process = subprocess.Popen(
        [str(venv / "bin" / "jobs-conformance"), "serve", "--port", "0", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline().strip() if ready else ""
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\S*", line), (
            f"serve printed {line!r} as its first line (exit {process.poll()})"
        )
        yield Served(line, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        process.stdout.close()  # type: ignore[union-attr]
        stderr.close()


def corpus_ids() -> list[str]:
    """The ids of the reference's seed corpus (``spec/examples/jobs.json``)."""
    jobs = json.loads((REPO / "spec" / "examples" / "jobs.json").read_text(encoding="utf-8"))
    return [job["id"] for job in jobs]


def requirement_ids() -> set[str]:
    """Every id of the requirement catalogue (``spec/requirements.yaml``)."""
    import yaml

    catalogue = yaml.safe_load((REPO / "spec" / "requirements.yaml").read_text(encoding="utf-8"))
    return {entry["id"] for entry in catalogue["requirements"]}


def report_statuses(report_dir: Path) -> tuple[str, dict[str, str]]:
    """(verdict, requirement id -> status) of ``report_dir/conformance.json``."""
    report = json.loads((report_dir / "conformance.json").read_text(encoding="utf-8"))
    return report["verdict"], {r["id"]: r["status"] for r in report["requirements"]}


def entries(folder: Path) -> list[str]:
    """The names in ``folder``, sorted (hidden ones too)."""
    return sorted(p.name for p in folder.iterdir())
