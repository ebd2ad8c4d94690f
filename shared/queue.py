"""The ingest queue adapter: webhooks answer only after their contacts are durably queued."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.config import get_settings
from shared.ingest import ContactMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SEND_BATCH_LIMIT = 10
MAX_SEND_ATTEMPTS = 4


class QueueUnavailable(RuntimeError):
    """The queue did not take every message; the webhook answers 503 so the provider retries."""


class IngestQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, messages: Sequence[ContactMessage]) -> None:
        for start in range(0, len(messages), SEND_BATCH_LIMIT):
            self._send_batch(messages[start : start + SEND_BATCH_LIMIT])

    def _send_batch(self, batch: Sequence[ContactMessage]) -> None:
        pending = {str(index): message for index, message in enumerate(batch)}
        for attempt in range(MAX_SEND_ATTEMPTS):
            try:
                response = self._client.send_message_batch(
                    QueueUrl=self._url,
                    Entries=[
                        {
                            "Id": entry_id,
                            "MessageBody": message.model_dump_json(exclude_none=True),
                            "MessageGroupId": message.group_id,
                            "MessageDeduplicationId": message.deduplication_id,
                        }
                        for entry_id, message in pending.items()
                    ],
                )
            except (BotoCoreError, ClientError) as error:
                if attempt == MAX_SEND_ATTEMPTS - 1:
                    raise QueueUnavailable("ingest queue refused the batch") from error
            else:
                failed = {entry["Id"] for entry in response.get("Failed", [])}
                pending = {entry_id: pending[entry_id] for entry_id in failed}
                if not pending:
                    return
            time.sleep(0.05 * 2**attempt)
        raise QueueUnavailable(f"ingest queue refused {len(pending)} messages")


@functools.cache
def get_ingest_queue() -> IngestQueue:
    return IngestQueue(boto3.client("sqs"), get_settings().queue_url)
