"""Fixtures of the unit suites that read the table's stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from shared import config
from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.identity import DynamoIdentityStore
from shared.config import get_settings
from shared.linking.merging import Merging
from shared.linking.processor import ContactProcessor
from shared.wiring import get_event_publisher
from tests.conftest import Account
from tests.streams import Stream

MERGE_CLOCK = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # merges run a day after the journeys' first contact


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


@pytest.fixture
def world(aws: Account) -> tuple[ContactProcessor, Merging]:
    """The processor and the merge use case over the moto table, merges at a fixed time."""
    client = boto3.client("dynamodb")
    merging = Merging(DynamoIdentityStore(client, aws.table), clock=lambda: MERGE_CLOCK)
    return ContactProcessor(DynamoStore(client, aws.table), get_settings(), merging), merging
