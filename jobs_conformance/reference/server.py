"""The reference server: the WSGI app on waitress, on loopback, started and stopped from Python.

waitress is a production WSGI server in pure Python: HTTP/1.1 keep-alive,
``TCP_NODELAY`` on accepted sockets (so no Nagle/delayed-ACK stall), a
worker thread pool, no compiled dependencies. Its event loop runs here one
tick at a time so :meth:`ReferenceServer.stop` can end it promptly.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import waitress
import waitress.server

from jobs_conformance.errors import UsageError
from jobs_conformance.invocation import command_line
from jobs_conformance.reference.app import API_PREFIX, ReferenceApp
from jobs_conformance.reference.corpus import build_corpus, corpus_path, load_corpus
from jobs_conformance.reference.faults import FAULTS, VARIANTS, Behaviour
from jobs_conformance.reference.store import JobStore

__all__ = ["ReferenceProcess", "ReferenceServer", "resolve_behaviours"]


def resolve_behaviours(faults: Sequence[str] = (), variants: Sequence[str] = ()) -> list[Behaviour]:
    """The behaviours named, or a UsageError naming the unknown one and the choices."""
    chosen = []
    for option, names, registry in (("--fault", faults, FAULTS), ("--variant", variants, VARIANTS)):
        for name in names:
            if name not in registry:
                raise UsageError(option, name, f"one of {', '.join(sorted(registry))}")
            chosen.append(registry[name])
    return chosen


class ReferenceServer:
    """The embedded reference implementation, serving ``http://HOST:PORT/api/v2``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str | Path = ":memory:",
        faults: Sequence[str] = (),
        variants: Sequence[str] = (),
        api_key: str | None = None,
        allow_seeding: bool = False,
        latency_ms: int = 0,
        threads: int = 8,
    ) -> None:
        behaviours = resolve_behaviours(faults, variants)
        if latency_ms < 0:
            raise UsageError(
                "--latency-ms", latency_ms, "a whole number of milliseconds, 0 or more"
            )
        self.store = JobStore(db)
        if self.store.count() == 0:
            # The committed corpus equals build_corpus() (a test holds them
            # equal); reading it is much faster than drawing it again.
            self.store.put_many(load_corpus() if corpus_path().is_file() else build_corpus())
        self.app = ReferenceApp(
            self.store,
            behaviours=behaviours,
            api_key=api_key,
            allow_seeding=allow_seeding,
            latency_ms=latency_ms,
        )
        self._host, self._port, self._threads = host, port, threads
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not started")
        host = self._server.effective_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self._server.effective_port}{API_PREFIX}"

    def job_ids(self) -> list[str]:
        return self.store.ids()

    def start(self) -> str:
        """Bind, start serving in a background thread, and return the base URL."""
        logging.getLogger("waitress").setLevel(logging.ERROR)
        try:
            self._server = waitress.server.create_server(
                self.app,
                host=self._host,
                port=self._port,
                threads=self._threads,
                ident="jobs-reference",
                channel_timeout=30,
            )
        except OSError as exc:
            raise UsageError(
                "--port", self._port, f"a free port on {self._host} ({exc.strerror})"
            ) from exc
        self._thread = threading.Thread(target=self._serve, name="reference-server", daemon=True)
        self._thread.start()
        return self.base_url

    def _serve(self) -> None:
        server = self._server
        while not self._stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        for channel in list(server._map.values()):
            channel.close()
        server.task_dispatcher.shutdown(timeout=2)

    def serve_forever(self) -> None:
        """Serve in the calling thread until KeyboardInterrupt."""
        if self._thread is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.store.close()

    def __enter__(self) -> ReferenceServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _ends_with_its_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux end the server when the run's process ends, however it ends.

    A run stopped by a second signal, or killed, leaves no server holding a
    port. Linux sends the signal when the *thread* that started the child
    ends, so only the main thread asks for it.
    """
    if not sys.platform.startswith("linux") or (
        threading.current_thread() is not threading.main_thread()
    ):
        return None

    def ask() -> None:
        pr_set_pdeathsig = 1  # prctl(2)
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)

    return ask


class ReferenceProcess:
    """The reference server in a process of its own (``jobs-conformance serve``).

    The suite runs it this way for a conformance run: in-process, the
    server's threads and the suite's would share one interpreter lock, and
    concurrent requests would queue behind it. Started early, it boots while
    pytest collects.
    """

    def __init__(
        self, *, api_key: str | None = None, allow_seeding: bool = False, threads: int = 8
    ) -> None:
        command = command_line(
            "serve",
            "--port",
            "0",
            "--threads",
            str(threads),
        )
        if allow_seeding:
            command.append("--allow-seeding")
        environment = dict(os.environ)
        if api_key is not None:
            # Through the environment: a command line is visible to every user of the machine.
            environment["JOBS_REFERENCE_API_KEY"] = api_key
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            preexec_fn=_ends_with_its_parent(),
        )
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        """The server's base URL, waiting (up to 60 s) for it to be ready."""
        if self._base_url is None:
            line = self._process.stdout.readline().strip() if self._process.stdout else ""
            if not line.startswith("http://"):
                error = (
                    self._process.stderr.read()
                    if self._process.poll() is not None and self._process.stderr
                    else ""
                )
                raise RuntimeError(
                    f"the embedded reference server did not start: {line or error.strip()}"
                )
            self._base_url = line
        return self._base_url

    @property
    def returncode(self) -> int | None:
        """The server process's exit status once it ended (0: it stopped cleanly)."""
        return self._process.poll()

    def stop(self) -> None:
        if self._process.poll() is None:
            # SIGTERM, not SIGINT: a process started in the background by a
            # non-interactive shell (a CI script, nohup) inherits SIGINT
            # ignored, and would sit out the wait below on every run.
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
