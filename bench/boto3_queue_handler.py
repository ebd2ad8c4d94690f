"""The first-answer baseline: a Lambda handler that imports boto3 and queues the request body, nothing else."""

from __future__ import annotations

import os
from typing import Any

import boto3


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    boto3.client("sqs").send_message_batch(
        QueueUrl=os.environ["THREADLINE_QUEUE_URL"],
        Entries=[{"Id": "0", "MessageBody": event.get("body") or "-", "MessageGroupId": "bench"}],
    )
    return {"statusCode": 200, "body": ""}
