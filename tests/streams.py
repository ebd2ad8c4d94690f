"""The table's stream as the events function sees it, for tests of what stored changes publish."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from functions.events.handler import lambda_handler
from infra.local.stream_poller import TableStreamPoller
from tests.builders import FakeContext
from tests.conftest import Account

# botocore addresses Streams by the ARN's account (123456789012.streams-ddb...), which moto does not route.
IN_PROCESS_STREAMS = Config(account_id_endpoint_mode="disabled")


class Stream:
    """The table's stream as the events function receives it: only records it has not handed out yet."""

    def __init__(self, aws: Account) -> None:
        self._seen: set[str] = set()
        self._aws = aws

    def new_batch(self) -> dict[str, Any]:
        captured: list[dict[str, Any]] = []
        poller = TableStreamPoller.for_table(
            self._aws.dynamodb,
            boto3.client("dynamodbstreams", config=IN_PROCESS_STREAMS),
            self._aws.table,
            captured.append,
            batch_size=1000,
        )
        poller.poll_once()
        records = [record for event in captured for record in event["Records"] if record["eventID"] not in self._seen]
        self._seen |= {record["eventID"] for record in records}
        return {"Records": records}


def publish(batch: dict[str, Any]) -> dict[str, Any]:
    return lambda_handler(batch, FakeContext())  # type: ignore[arg-type,return-value]


def published(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
