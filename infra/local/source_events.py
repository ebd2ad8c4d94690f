"""Lambda events of the non-HTTP sources (SQS, Kinesis, SNS), shaped as Lambda delivers them.

Pure: the pollers and `/_local/inject` hand these to the same handlers the
event source mappings and subscriptions invoke when deployed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from infra.local.gateway import ACCOUNT_ID, REGION

CONNECT_STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/threadline-connect-records"
EUM_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:threadline-eum-inbound-sms"
SQS_SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "MessageGroupId",
    "MessageDeduplicationId",
    "SequenceNumber",
)


def _sqs_message_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    """ReceiveMessage spells attributes `StringValue`/`DataType`; the Lambda event camel-cases them."""
    converted: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": attribute["DataType"]}
    if "StringValue" in attribute:
        converted["stringValue"] = attribute["StringValue"]
    if "BinaryValue" in attribute:
        converted["binaryValue"] = base64.b64encode(attribute["BinaryValue"]).decode("ascii")
    return converted


def sqs_event(messages: Sequence[Mapping[str, Any]], *, queue_arn: str) -> dict[str, Any]:
    """The batch an SQS event source mapping delivers, from ReceiveMessage's `Messages`."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    name: message["Attributes"][name]
                    for name in SQS_SYSTEM_ATTRIBUTES
                    if name in message.get("Attributes", {})
                },
                "messageAttributes": {
                    name: _sqs_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3],
            }
            for message in messages
        ]
    }


def kinesis_events(payloads: Sequence[Any], *, stream_arn: str = CONNECT_STREAM_ARN) -> list[dict[str, Any]]:
    """One batch of Kinesis records (one per payload), as a Kinesis event source mapping delivers it."""
    arrival = datetime.now(UTC).timestamp()
    records = []
    for index, payload in enumerate(payloads):
        data = json.dumps(payload).encode()
        sequence = f"{int(arrival * 1000):020d}{index:036d}"
        partition_key = str(payload.get("ContactId", index)) if isinstance(payload, Mapping) else str(index)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_key,
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(data).decode("ascii"),
                    "approximateArrivalTimestamp": arrival,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT_ID}:role/threadline-local",
                "awsRegion": REGION,
                "eventSourceARN": stream_arn,
            }
        )
    return [{"Records": records}]


def sns_events(payloads: Sequence[Any], *, topic_arn: str = EUM_TOPIC_ARN) -> list[dict[str, Any]]:
    """SNS invokes a subscribed function once per notification, each event holding one record."""
    events = []
    for payload in payloads:
        message_id = str(uuid.uuid4())
        events.append(
            {
                "Records": [
                    {
                        "EventSource": "aws:sns",
                        "EventVersion": "1.0",
                        "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                        "Sns": {
                            "Type": "Notification",
                            "MessageId": message_id,
                            "TopicArn": topic_arn,
                            "Subject": None,
                            "Message": payload if isinstance(payload, str) else json.dumps(payload),
                            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                            "SignatureVersion": "1",
                            "Signature": "bG9jYWw=",  # a placeholder: functions subscribed to SNS do not verify it
                            "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/local.pem",
                            "UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe",
                            "MessageAttributes": {},
                        },
                    }
                ]
            }
        )
    return events
