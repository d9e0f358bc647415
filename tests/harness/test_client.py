"""What the client puts on the wire and how it reads a response back, against a raw-socket server."""

from __future__ import annotations

import socket

from hostile import HostileServer, Seen, json_404

from jobs_conformance import __version__
from jobs_conformance.client import Client, ClientSettings

HELD = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def test_the_client_names_itself_and_takes_gzip_unless_told_otherwise():
    with HostileServer(json_404) as target:
        client = Client(ClientSettings(base_url=target.base_url))
        client.get_job(HELD)
        client.get_job(HELD, headers={"user-agent": "ops-probe/1", "X-Api-Key": "k"})
        client.close()
    plain, overridden = target.seen
    assert plain.headers["user-agent"] == f"jobs-conformance/{__version__}"
    assert plain.headers["accept-encoding"] == "gzip, deflate"
    assert "x-api-key" not in plain.headers
    # A configured header replaces the default whatever the case of its name, never doubles it.
    assert overridden.headers["user-agent"] == "ops-probe/1"
    assert overridden.headers["x-api-key"] == "k"


def test_a_field_sent_twice_reads_as_one_with_its_values_joined():
    def twice(seen: Seen, connection: socket.socket) -> None:
        body = b'{"error": "not found"}'
        connection.sendall(
            b"HTTP/1.1 404 Not Found\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Type: text/html\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )

    with HostileServer(twice) as target:
        client = Client(ClientSettings(base_url=target.base_url))
        _, response = client.get_job(HELD)
        client.close()
    # RFC 9110 section 5.3: the combined value is what the oracle judges, so
    # a second Content-Type cannot hide behind the first.
    assert response.header("content-type") == "application/json, text/html"
    assert [name for name, _ in response.headers].count("Content-Type") == 1


def test_connections_are_kept_alive_between_requests():
    connections: set[int] = set()

    def note_connection(seen: Seen, connection: socket.socket) -> None:
        connections.add(connection.getpeername()[1])
        json_404(seen, connection)

    with HostileServer(note_connection) as target:
        client = Client(ClientSettings(base_url=target.base_url))
        for _ in range(5):
            client.get_job(HELD)
        client.close()
    assert len(connections) == 1
