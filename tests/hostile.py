"""Misbehaving HTTP servers on 127.0.0.1 for the safety tests: raw sockets, so they can do
what no well-behaved framework would (hang, reset, drip, lie about lengths, bomb)."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar
from urllib.parse import unquote

from jobs_conformance.contract import load_contract


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    at: float


Behaviour = Callable[[Seen, socket.socket], None]


_Server = TypeVar("_Server", bound="LoopbackServer")


def read_request(
    connection: socket.socket, buffer: bytes
) -> tuple[str, str, dict[str, str], bytes, bytes] | None:
    """The next request on ``connection`` after what ``buffer`` holds already: (method,
    target, headers as sent, body, what follows it), or None once the peer hung up."""
    while b"\r\n\r\n" not in buffer:
        data = connection.recv(65536)
        if not data:
            return None
        buffer += data
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0) or 0)
    while len(buffer) < length:
        buffer += connection.recv(65536)
    return method, target, headers, buffer[:length], buffer[length:]


class LoopbackServer:
    """Accepts on a loopback address in a thread of its own; each connection goes to
    :meth:`_serve` in another. Subclasses call :meth:`_listen` once, from ``__post_init__``."""

    host: str = "127.0.0.1"

    def _listen(self) -> None:
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._lock = threading.Lock()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self._listener.getsockname()[1]}"

    def __enter__(self: _Server) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        raise NotImplementedError


@dataclass
class HostileServer(LoopbackServer):
    """Accepts on 127.0.0.1 (or another loopback address), reads each request, hands it to ``behaviour``."""

    behaviour: Behaviour
    host: str = "127.0.0.1"
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listen()

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/v2"

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(30)
        buffer = b""
        try:
            while not self._stop.is_set():
                request = read_request(connection, buffer)
                if request is None:
                    return
                method, path, headers, _, buffer = request
                headers = {k.lower(): v for k, v in headers.items()}
                seen = Seen(method, path, headers, time.monotonic())
                with self._lock:
                    self.seen.append(seen)
                self.behaviour(seen, connection)
                if getattr(connection, "_closed", False):
                    return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                connection.close()


def respond(
    connection: socket.socket, status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> None:
    """A plain, complete HTTP/1.1 response (keep-alive)."""
    fields = {"Content-Length": str(len(body)), **(headers or {})}
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    connection.sendall(head.encode("latin-1") + body)


def reset(connection: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def json_404(seen: Seen, connection: socket.socket) -> None:
    respond(connection, 404, b'{"error": "not found"}', {"Content-Type": "application/json"})


def json_400(seen: Seen, connection: socket.socket) -> None:
    respond(connection, 400, b'{"error": "bad id"}', {"Content-Type": "application/json"})


def gzip_bomb(decompressed_bytes: int) -> bytes:
    """One gzip member of ``decompressed_bytes`` zeros (a whole number of MiB; ~1/1000 on the wire).

    Built without compressing it all: a MiB of zeros is deflated once, ending
    in a full flush (which resets the compressor, so the same bytes would
    follow any earlier block), and repeated; then an empty final block and
    the trailer (RFC 1951 section 3.2.3, RFC 1952 section 2.3). Compressing
    1 GiB takes seconds.
    """
    block = bytes(1 << 20)
    count, rest = divmod(decompressed_bytes, len(block))
    assert rest == 0, "a whole number of MiB"
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    final_empty_block = b"\x03\x00"
    trailer = struct.pack("<II", crc, decompressed_bytes & 0xFFFFFFFF)
    return header + chunk * count + final_empty_block + trailer


def endless_zeros(total: int) -> Iterator[bytes]:
    block = bytes(1 << 20)
    sent = 0
    while sent < total:
        yield block
        sent += len(block)


class NoJobsHere(BaseHTTPRequestHandler):
    """A well-behaved target that holds no job: 404 for a well-formed id, 400 otherwise.

    Records the paths it was asked in ``seen`` (the server's, see :func:`https_target`).
    """

    protocol_version = "HTTP/1.1"
    # Head and body go out in two writes; with Nagle on, each keep-alive
    # response would wait for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        segment = unquote(self.path.split("?", 1)[0].rsplit("/jobs/", 1)[-1])
        status = 404 if load_contract().path_pattern.search(segment) else 400
        body = json.dumps({"error": "no"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def https_target(context: ssl.SSLContext) -> Iterator[tuple[int, list[str]]]:
    """:class:`NoJobsHere` over TLS with ``context`` on 127.0.0.1; (port, paths asked)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), NoJobsHere)
    server.seen = []  # type: ignore[attr-defined]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
