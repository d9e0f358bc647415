"""What the client puts on the wire and how it reads a response back, against a raw-socket server."""

from __future__ import annotations

import socket

import pytest
import urllib3
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


def test_the_request_target_is_the_one_urllib3_would_send():
    # The client sends a URL already in urllib3's normal form without having urllib3 parse it
    # again (Client._route): what reaches the target must not change either way.
    paths = [
        "/api/v2/jobs/" + HELD,
        "/api/v2/jobs/%C3%A9t%C3%A9%2E%2E?api_key=s3cret&x=1",
        "/api/v2/./jobs/../jobs/" + HELD,  # dot segments: resolved
        "/api/v2/jobs/%7e%2f",  # lower-case percent-encodings: upper-cased
        "/api/v2/jobs/a b?q=\u00e9#fragment",  # characters to encode, a fragment never sent
        "/api/v2/jobs/50%?x",  # a bare "%": encoded
        "/api/v2/jobs/x?",  # an empty query
    ]
    with HostileServer(json_404) as target:
        client = Client(ClientSettings(base_url=target.base_url))
        origin = target.origin
        for path in paths:
            client.send("GET", origin + path)
        client.close()
    assert [seen.path for seen in target.seen] == [
        urllib3.util.parse_url(origin + path).request_uri for path in paths
    ]


# URLs of every shape Client._route meets: those it sends itself and those it leaves to
# urllib3's pool manager, whose choice of pool and request target it must equal.
ROUTED = [
    "http://127.0.0.1:8080/api/v2/jobs/" + HELD,
    "https://Jobs.Example/api/v2/jobs/" + HELD + "?api_key=k&x=%2F",
    "http://[::1]:9/api/v2/jobs/%C3%A9",
    "http://h/api/v2/jobs/a:b@c!$&'()*+,;=~-_",
    "http://h/api/v2/jobs/x?a=/?:@",
    "http://bücher.example/api/v2/jobs/x",  # a host IDNA encodes
    "http://h/api/v2/.well-known/x",  # a dot segment's look-alike: left to urllib3
    "http://h/api/v2/jobs/%7e",  # lower-case percent-encoding: left to urllib3
    "http://h:80/api/v2/jobs/x#f",  # a fragment: left to urllib3
]


@pytest.mark.parametrize("url", ROUTED)
def test_a_url_goes_to_the_pool_and_target_urllib3_would_choose(url):
    client = Client(ClientSettings(base_url="http://127.0.0.1:9/api/v2"))
    opener, target = client._route(url)
    parsed = urllib3.util.parse_url(url)
    pool = client._pool.connection_from_host(parsed.host, port=parsed.port, scheme=parsed.scheme)
    if opener is client._pool:  # the pool manager parses the URL itself
        assert target == url
    else:
        assert (opener, target) == (pool, parsed.request_uri)
    client.close()
