"""The guard in tests/unit/conftest.py really holds: a unit test cannot reach the network."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from tests.unit.conftest import NetworkBlocked


def test_a_unit_test_cannot_open_a_connection() -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("127.0.0.1", 9))
    with pytest.raises(NetworkBlocked):
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)
