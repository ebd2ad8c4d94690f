"""The FIFO queues (ingest, outbound): webhooks and /v1 answer only after their messages are durably queued."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.model.failures import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SEND_BATCH_LIMIT = 10
MAX_SEND_ATTEMPTS = 4


class FifoMessage(Protocol):
    """What a FIFO queue needs of a message (`shared.ingest.message.ContactMessage` is one)."""

    @property
    def body(self) -> str: ...
    @property
    def group_id(self) -> str: ...
    @property
    def deduplication_id(self) -> str: ...


class QueueUnavailable(DependencyUnavailable):
    """The queue did not take every message; the webhook answers 503 so the provider retries."""


class FifoQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, messages: Sequence[FifoMessage]) -> None:
        for start in range(0, len(messages), SEND_BATCH_LIMIT):
            self._send_batch(messages[start : start + SEND_BATCH_LIMIT])

    def _send_batch(self, batch: Sequence[FifoMessage]) -> None:
        pending = {str(index): message for index, message in enumerate(batch)}
        for attempt in range(MAX_SEND_ATTEMPTS):
            try:
                response = self._client.send_message_batch(
                    QueueUrl=self._url,
                    Entries=[
                        {
                            "Id": entry_id,
                            "MessageBody": message.body,
                            "MessageGroupId": message.group_id,
                            "MessageDeduplicationId": message.deduplication_id,
                        }
                        for entry_id, message in pending.items()
                    ],
                )
            except (BotoCoreError, ClientError) as error:
                if attempt == MAX_SEND_ATTEMPTS - 1:
                    raise QueueUnavailable("the queue refused the batch") from error
            else:
                failed = {entry["Id"] for entry in response.get("Failed", [])}
                pending = {entry_id: pending[entry_id] for entry_id in failed}
                if not pending:
                    return
            time.sleep(0.05 * 2**attempt)
        raise QueueUnavailable(f"the queue refused {len(pending)} messages")

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Keep a received message invisible for `seconds` (a provider's Retry-After) before it is tried again."""
        try:
            self._client.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (BotoCoreError, ClientError) as error:
            # The message then comes back after the queue's own visibility timeout: sooner, not lost.
            raise QueueUnavailable("the queue did not take the delay") from error
