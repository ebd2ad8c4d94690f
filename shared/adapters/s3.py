"""The mail bucket adapter: raw mail SES stored in S3, and the bytes we keep out of DynamoDB."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.model.failures import DependencyUnavailable, ObjectTooLarge

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class MailboxUnavailable(DependencyUnavailable):
    """S3 did not answer: 503, so the provider delivers the mail again later."""


class Mailbox:
    """Reads raw mail from any bucket SES wrote to; writes only to the configured mail bucket."""

    def __init__(self, bucket: str | None, client: S3Client | None = None) -> None:
        self.bucket = bucket or None
        self._given_client = client

    @functools.cached_property
    def _client(self) -> Any:
        # Created on first use: a webhook without a bucket and without SES S3 mail never pays for it.
        return self._given_client or boto3.client("s3")

    @property
    def store(self) -> Mailbox | None:
        """Where attachment and raw bytes go, or None when no mail bucket is configured."""
        return self if self.bucket else None

    def fetch(self, bucket: str, key: str, max_bytes: int) -> bytes:
        """A raw message SES stored; one over `max_bytes` is refused before it is read."""
        try:
            response = self._client.get_object(Bucket=bucket, Key=key)
            if int(response["ContentLength"]) > max_bytes:
                response["Body"].close()
                raise ObjectTooLarge(f"object is larger than {max_bytes} bytes")
            return bytes(response["Body"].read(max_bytes + 1))
        except (BotoCoreError, ClientError) as error:
            raise MailboxUnavailable("mail bucket cannot be read") from error

    def put(self, key: str, data: bytes, content_type: str) -> str:
        if self.bucket is None:
            raise MailboxUnavailable("no mail bucket is configured")
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type or "application/octet-stream",
                ServerSideEncryption="AES256",
            )
        except (BotoCoreError, ClientError) as error:
            raise MailboxUnavailable("mail bucket cannot be written") from error
        return f"s3://{self.bucket}/{key}"
