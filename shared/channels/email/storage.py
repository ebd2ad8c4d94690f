"""Where an email's bytes go: attachments and the raw message to the mail bucket, never to DynamoDB.

Keys derive from the provider and its message id, so a provider retry rewrites
the same objects instead of adding new ones. The raw message is listed among
the contact's attachments as `type=other`, `name=RAW_MESSAGE_NAME`, so an agent
tool can always open the message exactly as it arrived.
"""

from __future__ import annotations

import hashlib
import re
from typing import Protocol

from shared.channels.email.parsed import ParsedEmail
from shared.model.contact import Attachment, AttachmentType, Provider

RAW_MESSAGE_NAME = "message.eml"
RAW_CONTENT_TYPE = "message/rfc822"
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class MailStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> str:
        """Store the bytes under `key`; answer the storage key to record (`s3://bucket/key`)."""
        ...


def object_prefix(provider: Provider, provider_message_id: str) -> str:
    digest = hashlib.sha256(provider_message_id.encode()).hexdigest()[:32]
    return f"mail/{provider.value}/{digest}"


def _object_name(index: int, name: str | None) -> str:
    safe = _UNSAFE_KEY_CHARS.sub("_", name or "")[-80:].strip("._") or "part"
    return f"{index:02d}-{safe}"


def raw_message(storage_key: str, size: int) -> Attachment:
    return Attachment(
        type=AttachmentType.OTHER,
        storage_key=storage_key,
        content_type=RAW_CONTENT_TYPE,
        size=size,
        name=RAW_MESSAGE_NAME,
    )


def store_parts(
    parsed: ParsedEmail,
    *,
    provider: Provider,
    provider_message_id: str,
    store: MailStore | None,
    raw_storage_key: str | None = None,
    keep_attachment_bytes: bool = True,
) -> tuple[Attachment, ...]:
    """The attachments to record: stored ones carry their key; without a store, metadata only.

    `raw_storage_key` names a raw message that is already stored (SES's S3 action);
    `keep_attachment_bytes=False` (a virus verdict) records metadata without storing bytes.
    """
    prefix = object_prefix(provider, provider_message_id)
    recorded = []
    for index, part in enumerate(parsed.attachments, start=1):
        attachment = part.attachment
        if store is not None and keep_attachment_bytes and part.payload:
            key = store.put(
                f"{prefix}/{_object_name(index, attachment.name)}", part.payload, attachment.content_type or ""
            )
            attachment = attachment.model_copy(update={"storage_key": key})
        recorded.append(attachment)
    if raw_storage_key is None and store is not None and parsed.raw:
        raw_storage_key = store.put(f"{prefix}/{RAW_MESSAGE_NAME}", parsed.raw, RAW_CONTENT_TYPE)
    if raw_storage_key is not None:
        recorded.append(raw_message(raw_storage_key, len(parsed.raw or b"")))
    return tuple(recorded)
