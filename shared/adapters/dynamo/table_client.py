"""The mechanics every store shares: (de)serialization, retries with backoff, paging.

`DynamoStore` (the hot path and reads), `IdentityStore` (merges) and `AdminStore`
(case status, erasure) are all `TableClient`s, so a batch loop, a retry or a
page walk is written once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.cursors import decode_cursor, encode_cursor
from shared.adapters.dynamo.table import INDEXES, PARTITION_KEY
from shared.model.failures import ConditionFailed, StoreContention, backoff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
MAX_BATCH_ATTEMPTS = 8


def dump(item: Mapping[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB attribute values; None attributes are left out."""
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def load(item: Mapping[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def chunks(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class TableClient:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _get(self, key: keys.Key) -> Item | None:
        response = self._client.get_item(TableName=self._table, Key=dump(key), ConsistentRead=True)
        return load(response["Item"]) if "Item" in response else None

    def _batch_get(self, wanted: Sequence[keys.Key]) -> dict[tuple[str, str], Item]:
        unique = list({(key["PK"], key["SK"]): key for key in wanted}.values())
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            pending: Any = {
                self._table: {
                    "Keys": [dump(key) for key in unique[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(MAX_BATCH_ATTEMPTS):
                response = self._client.batch_get_item(RequestItems=pending)
                for raw in response.get("Responses", {}).get(self._table, []):
                    item = load(raw)
                    found[(item["PK"], item["SK"])] = item
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                backoff(attempt)
            else:
                raise StoreContention("batch get left unprocessed keys")
        return found

    def _update(
        self,
        key: keys.Key,
        update: str,
        condition: str,
        values: Mapping[str, Any],
        names: Mapping[str, str] | None = None,
    ) -> None:
        """One conditional UpdateItem; a failed condition raises `ConditionFailed` naming the item's kind."""
        if self._update_or_old(key, update, condition, values, names) is not None:
            raise ConditionFailed(key["PK"].split("#", 1)[0])

    def _update_or_old(
        self,
        key: keys.Key,
        update: str,
        condition: str,
        values: Mapping[str, Any],
        names: Mapping[str, str] | None = None,
    ) -> Item | None:
        """One conditional UpdateItem: None when applied, else the item as it is (empty when there is none)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": dump(key),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            request["ExpressionAttributeValues"] = dump(values)
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            old: Mapping[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            return load(old)
        return None

    def _put_if_absent(self, item: Item) -> Item | None:
        """One PutItem of a new item: None when written, else the item already under its key."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=dump(item),
                ConditionExpression="attribute_not_exists(PK)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return load(error.response["Item"])  # type: ignore[typeddict-item]
        return None

    def _batch_put(self, items: Sequence[Item]) -> None:
        self._batch_write([{"PutRequest": {"Item": dump(item)}} for item in items])

    def _batch_delete(self, doomed: Sequence[keys.Key]) -> None:
        self._batch_write([{"DeleteRequest": {"Key": dump(key)}} for key in doomed])

    def _batch_write(self, requests: Sequence[Item]) -> None:
        """BatchWriteItem in chunks of 25, retrying unprocessed requests with backoff."""
        for chunk in chunks(requests, BATCH_WRITE_LIMIT):
            pending: Any = {self._table: list(chunk)}
            for attempt in range(MAX_BATCH_ATTEMPTS):
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                backoff(attempt)
            else:
                raise StoreContention("batch write left unprocessed requests")

    def _query(
        self,
        index: str,
        partition: str,
        prefix: str,
        *,
        limit: int,
        cursor: str | None = None,
    ) -> tuple[list[Item], str | None]:
        """One page of a listing, newest first; the cursor resumes after the page's last key."""
        partition_name, sort_name = INDEXES[index]
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": partition_name, "#sk": sort_name},
            "ExpressionAttributeValues": dump({":pk": partition, ":prefix": prefix}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, partition_attribute=partition_name, partition=partition)
        if start:
            request["ExclusiveStartKey"] = dump(start)
        response = self._client.query(**request)
        next_key = response.get("LastEvaluatedKey")
        return [load(item) for item in response.get("Items", [])], encode_cursor(load(next_key) if next_key else None)

    def _partition(self, index: str | None, partition: str, prefix: str | None = None) -> Iterator[Item]:
        """Every item of one partition of the table or an index (optionally one sort-key prefix)."""
        if prefix is None:
            yield from self._walk(index, partition, "#pk = :pk", {})
        else:
            yield from self._walk(index, partition, "#pk = :pk AND begins_with(#sk, :low)", {":low": prefix})

    def _between(self, index: str | None, partition: str, low: str, high: str) -> Iterator[Item]:
        """The items of one partition whose sort key is between `low` and `high`, in sort-key order."""
        yield from self._walk(
            index, partition, "#pk = :pk AND #sk BETWEEN :low AND :high", {":low": low, ":high": high}
        )

    def _walk(self, index: str | None, partition: str, condition: str, bounds: Mapping[str, str]) -> Iterator[Item]:
        partition_name, sort_name = INDEXES[index] if index else (PARTITION_KEY, "SK")
        names = {"#pk": partition_name, **({"#sk": sort_name} if bounds else {})}
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": dump({":pk": partition, **bounds}),
        }
        if index:
            request["IndexName"] = index
        while True:
            response = self._client.query(**request)
            yield from (load(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
