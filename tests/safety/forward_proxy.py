"""A small forward HTTP proxy on 127.0.0.1 for the proxy tests: absolute-form requests for
http targets, CONNECT tunnels for https ones; records what it was asked, can require
credentials (407 otherwise)."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hostile import LoopbackServer, read_request


@dataclass(frozen=True)
class Asked:
    """One request the proxy received: ``GET http://host/...`` or ``CONNECT host:port``."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass
class ForwardProxy(LoopbackServer):
    """Forwards to wherever it is asked; ``authorization`` is the Proxy-Authorization it requires."""

    authorization: str | None = None
    asked: list[Asked] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listen()

    @property
    def url(self) -> str:
        return self.origin

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(30)
        buffer = b""
        try:
            while not self._stop.is_set():
                request = read_request(client, buffer)
                if request is None:
                    return
                method, target, headers, body, buffer = request
                with self._lock:
                    self.asked.append(Asked(method, target, headers))
                given = next(
                    (v for k, v in headers.items() if k.lower() == "proxy-authorization"), None
                )
                if self.authorization is not None and given != self.authorization:
                    client.sendall(
                        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                        b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
                    )
                    continue
                if method == "CONNECT":
                    self._tunnel(client, target, buffer)
                    return
                self._forward(client, method, target, headers, body)
                return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                client.close()

    def _tunnel(self, client: socket.socket, target: str, early: bytes) -> None:
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((host, int(port)), timeout=30)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if early:
            upstream.sendall(early)
        with upstream:
            pump = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            pump.start()
            _pipe(client, upstream)
            pump.join(30)

    def _forward(
        self, client: socket.socket, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> None:
        # One request per connection: the upstream is asked to close, and its
        # "Connection: close" answer tells the client not to reuse this one.
        url = urlsplit(target)
        path = url.path + (f"?{url.query}" if url.query else "")
        hop_by_hop = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}
        kept = {k: v for k, v in headers.items() if k.lower() not in hop_by_hop}
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept.items())
        with socket.create_connection((url.hostname, url.port or 80), timeout=30) as upstream:
            upstream.sendall((head + "Connection: close\r\n\r\n").encode("latin-1") + body)
            _pipe(upstream, client)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until ``source`` closes, then half-close ``sink``."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
