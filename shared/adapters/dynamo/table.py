"""The table's key schema, declared once: the CDK stack, the local stack and the tests read it.

Layout and access patterns are documented in docs/data-model.md.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "PK"
SORT_KEY = "SK"
TTL_ATTRIBUTE = "expires_at"

# GSI1: everything scoped to one customer (timeline, cases, identifiers).
# GSI2: a case's timeline.
CUSTOMER_INDEX = "GSI1"
CASE_INDEX = "GSI2"
INDEXES: dict[str, tuple[str, str]] = {
    CUSTOMER_INDEX: ("GSI1PK", "GSI1SK"),
    CASE_INDEX: ("GSI2PK", "GSI2SK"),
}


def create_table_request(table_name: str) -> dict[str, Any]:
    """Arguments for `CreateTable`, as the stack defines the table (on-demand, with a stream)."""
    attributes = [PARTITION_KEY, SORT_KEY, *(name for pair in INDEXES.values() for name in pair)]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in attributes],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (partition, sort) in INDEXES.items()
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
