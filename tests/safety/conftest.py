"""Shared pieces for the safety tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from hostile import Seen

from jobs_conformance.contract import load_contract

HELD = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def segment(seen: Seen) -> str:
    return unquote(seen.path.split("?", 1)[0].rsplit("/jobs/", 1)[-1])


def is_held(seen: Seen) -> bool:
    return segment(seen) == HELD


def is_malformed(seen: Seen) -> bool:
    return not load_contract().path_pattern.search(segment(seen))


class Recording:
    """WSGI middleware that records (method, path, headers, time) of every request."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.seen: list[tuple[str, str, dict[str, str], float]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        with self._lock:
            self.seen.append(
                (
                    environ["REQUEST_METHOD"],
                    environ.get("REQUEST_URI", ""),
                    headers,
                    time.monotonic(),
                )
            )
        return self.app(environ, start_response)
