"""An in-process moto table with the stack's own key schema, and a processor whose client counts calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.model import OperationModel

from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.table import create_table_request
from shared.config import Settings
from shared.linking.processor import ContactProcessor, ProcessResult

REGION = "us-east-1"


@dataclass
class CallCounter:
    """A `before-call.dynamodb` hook: one entry per API call, i.e. per round trip."""

    calls: list[str] = field(default_factory=list)

    def __call__(self, model: OperationModel, **_: Any) -> None:
        self.calls.append(model.name)

    def take(self) -> list[str]:
        """The calls since the last take, oldest first."""
        calls, self.calls = self.calls, []
        return calls


@dataclass(frozen=True)
class CountedProcessor:
    processor: ContactProcessor
    counter: CallCounter
    table: str
    client: Any

    def item_count(self) -> int:
        return int(self.client.describe_table(TableName=self.table)["Table"]["ItemCount"])


def counted_processor(table: str, *, reopen_days: float = 7) -> CountedProcessor:
    """The processor as the Lambda builds it, over a fresh table. Call inside `moto.mock_aws()`."""
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(**create_table_request(table))
    counter = CallCounter()
    client.meta.events.register("before-call.dynamodb", counter)
    settings = Settings(table_name=table, reopen_days=reopen_days)
    return CountedProcessor(ContactProcessor(DynamoStore(client, table), settings), counter, table, client)


def describe(result: ProcessResult) -> str:
    """What the processor did, in words, so a scenario that goes wrong shows in the table."""
    facts = [result.outcome.value]
    if result.customer_created:
        facts.append("customer created")
    if result.case_opened:
        facts.append("case opened")
    return ", ".join(facts)
