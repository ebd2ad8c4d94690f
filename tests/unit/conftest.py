"""Unit tests are pure or run on in-memory fakes: no AWS, no moto, and no sockets at all."""

from __future__ import annotations

import socket
from typing import Any, NoReturn

import pytest

from shared.config import Settings
from shared.linking.merging import Merging
from shared.linking.processor import ContactProcessor
from tests.fakes import InMemoryStore


class NetworkBlocked(RuntimeError):
    """A unit test tried to open a connection: it belongs in tests/component or tests/integration."""


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise NetworkBlocked("unit tests may not open network connections")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def processor(store: InMemoryStore) -> ContactProcessor:
    """The processor use case over the in-memory store, with merges (the app's verified identifiers)."""
    return ContactProcessor(store, Settings(), Merging(store))
