"""The X poller's items: a cursor per stream, the refused token version, the monthly budget.

Every cursor write is conditional on the version it was read at, so of two
overlapping runs only one moves a cursor; the other's write fails and it
stops (it has queued nothing the winner did not queue too). The budget is
taken one request at a time with a conditional ADD, so no number of runs can
make more requests than the cap. Layout: docs/data-model.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.table import TTL_ATTRIBUTE
from shared.adapters.dynamo.table_client import Item, TableClient, dump, is_condition_failure
from shared.model.failures import ConditionFailed
from shared.model.times import sortable_time
from shared.model.x_polling import PollingState, Stream, StreamCursor

BUDGET_KEPT = timedelta(days=62)  # a month's counters outlive the month, then expire (TTL)


class DynamoXPollingStore(TableClient):
    def state(self, account_id: str, streams: Iterable[Stream]) -> PollingState:
        wanted = [keys.x_polling_cursor(account_id, stream.value) for stream in streams]
        found = self._batch_get([*wanted, keys.x_polling_auth(account_id)])
        cursors = {}
        for key in wanted:
            item = found.get((key["PK"], key["SK"]))
            if item is not None:
                cursor = _cursor(item)
                cursors[cursor.stream] = cursor
        auth_key = keys.x_polling_auth(account_id)
        auth = found.get((auth_key["PK"], auth_key["SK"]))
        return PollingState(cursors=cursors, revoked_token_version=auth.get("revoked_version") if auth else None)

    def save_cursor(self, account_id: str, cursor: StreamCursor) -> StreamCursor:
        """Write `cursor` as the next version of the one it was read at; ConditionFailed if it moved."""
        saved = replace(cursor, version=cursor.version + 1)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Item": dump({**keys.x_polling_cursor(account_id, cursor.stream.value), **_item(saved)}),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        if cursor.version:
            request["ConditionExpression"] = "version = :read"
            request["ExpressionAttributeValues"] = dump({":read": cursor.version})
        try:
            self._client.put_item(**request)
        except ClientError as error:
            if is_condition_failure(error):
                raise ConditionFailed(f"the {cursor.stream.value} cursor moved since it was read") from error
            raise
        return saved

    def take_request(self, account_id: str, month: str, *, request_cap: int, resource_cap: int, now: datetime) -> bool:
        """Count one request against this month's caps; False (and nothing counted) when a cap is reached."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=dump(keys.x_polling_budget(account_id, month)),
                UpdateExpression="ADD requests :one SET #ttl = if_not_exists(#ttl, :expires)",
                ConditionExpression="(attribute_not_exists(requests) OR requests < :request_cap) AND "
                "(attribute_not_exists(resources) OR resources < :resource_cap)",
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues=dump(
                    {
                        ":one": 1,
                        ":expires": int((now + BUDGET_KEPT).timestamp()),
                        ":request_cap": request_cap,
                        ":resource_cap": resource_cap,
                    }
                ),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def add_resources(self, account_id: str, month: str, count: int) -> None:
        if count:
            self._client.update_item(
                TableName=self._table,
                Key=dump(keys.x_polling_budget(account_id, month)),
                UpdateExpression="ADD resources :count",
                ExpressionAttributeValues=dump({":count": count}),
            )

    def budget(self, account_id: str, month: str) -> tuple[int, int]:
        """Requests and resources counted this month (for reports and tests)."""
        item = self._get(keys.x_polling_budget(account_id, month)) or {}
        return int(item.get("requests", 0)), int(item.get("resources", 0))

    def claim_refresh(self, account_id: str, token_version: str, until: datetime, *, now: datetime) -> bool:
        """One claim per token version: a claim of another version, or an expired one, does not stand in the way."""
        claim = {"token_version": token_version, "until": sortable_time(until)}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=dump({**keys.x_polling_refresh(account_id), **claim}),
                ConditionExpression="attribute_not_exists(PK) OR token_version <> :version OR #until < :now",
                ExpressionAttributeNames={"#until": "until"},
                # Fixed-width UTC times: string order is time order.
                ExpressionAttributeValues=dump({":version": token_version, ":now": sortable_time(now)}),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def mark_revoked(self, account_id: str, token_version: str, now: datetime) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=dump(
                {**keys.x_polling_auth(account_id), "revoked_version": token_version, "revoked_at": now.isoformat()}
            ),
        )


def _item(cursor: StreamCursor) -> dict[str, Any]:
    return {
        "stream": cursor.stream.value,
        "since_id": cursor.since_id,
        "walk_top": cursor.walk_top,
        "walk_token": cursor.walk_token,
        "version": cursor.version,
        "caught_up_at": cursor.caught_up_at.isoformat() if cursor.caught_up_at else None,
        "blocked_until": cursor.blocked_until.isoformat() if cursor.blocked_until else None,
        "backoff_s": cursor.backoff_s,
    }


def _cursor(item: Item) -> StreamCursor:
    def moment(name: str) -> datetime | None:
        return datetime.fromisoformat(item[name]) if item.get(name) else None

    return StreamCursor(
        stream=Stream(item["stream"]),
        since_id=item.get("since_id"),
        walk_top=item.get("walk_top"),
        walk_token=item.get("walk_token"),
        version=int(item["version"]),
        caught_up_at=moment("caught_up_at"),
        blocked_until=moment("blocked_until"),
        backoff_s=int(item.get("backoff_s", 0)),
    )
