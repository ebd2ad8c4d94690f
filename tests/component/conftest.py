"""Fixtures of the unit suites that read the table's stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import config
from shared.wiring import get_event_publisher
from tests.conftest import Account
from tests.streams import Stream


@pytest.fixture
def events_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Local events go to a fresh JSON Lines file."""
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv("THREADLINE_EVENTS_FILE", str(path))
    config.clear_caches()
    get_event_publisher.cache_clear()
    yield path
    get_event_publisher.cache_clear()


@pytest.fixture
def stream(aws: Account) -> Stream:
    return Stream(aws)
