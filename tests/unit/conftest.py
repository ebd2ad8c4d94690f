"""Unit tests are pure or run on in-memory fakes: no AWS, no moto, and no sockets at all."""

from __future__ import annotations

import socket
from typing import Any, NoReturn

import pytest


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
