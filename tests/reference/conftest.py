"""Reference-server fixtures: one shared conforming server, and a factory for configured ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobs_conformance.client import Client, ClientSettings
from jobs_conformance.reference.server import ReferenceServer


@pytest.fixture(scope="session")
def reference() -> Iterator[ReferenceServer]:
    """The conforming reference server on an ephemeral loopback port (read-only tests share it)."""
    with ReferenceServer() as server:
        yield server


@pytest.fixture
def client_for():
    """Make a Client for a base URL; closed after the test."""
    clients: list[Client] = []

    def make(base_url: str, **settings) -> Client:
        client = Client(ClientSettings(base_url=base_url, timeout_s=5, **settings))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def client(reference) -> Iterator[Client]:
    """A client of the shared server (session-scoped, so Hypothesis tests may use it)."""
    client = Client(ClientSettings(base_url=reference.base_url, timeout_s=5))
    yield client
    client.close()
