"""What the email samples share: a realistic MIME message and a multipart/form-data body."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from infra.local.samples import SampleOptions

DEFAULT_SENDER = "Ann Jones <ann.jones@example.net>"
DEFAULT_RECIPIENT = "support@threadline.example"


@dataclass(frozen=True)
class FilePart:
    filename: str
    content_type: str
    payload: bytes


def compose_email(
    *,
    text: str,
    sender: str = DEFAULT_SENDER,
    recipient: str = DEFAULT_RECIPIENT,
    subject: str = "My order has not arrived",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    sent_at: datetime | None = None,
) -> bytes:
    """A plain-text message as a mail client sends it (message_id without angle brackets)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at or datetime.now(UTC))
    message["Message-ID"] = f"<{message_id or uuid.uuid4().hex + '@mail.example.net'}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
        message["References"] = f"<{in_reply_to}>"
    message.set_content(text)
    return message.as_bytes()


def sample_email(options: SampleOptions) -> bytes:
    return compose_email(
        text=options.text,
        sender=options.sender or DEFAULT_SENDER,
        recipient=options.recipient or DEFAULT_RECIPIENT,
        message_id=options.message_id,
        in_reply_to=options.in_reply_to.strip("<> ") if options.in_reply_to else None,
        subject="Re: My order has not arrived" if options.in_reply_to else "My order has not arrived",
    )


def multipart_form(fields: Sequence[tuple[str, str | bytes | FilePart]]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data POST, fields in the given order."""
    boundary = "----threadline" + uuid.uuid4().hex
    chunks = []
    for name, value in fields:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if isinstance(value, FilePart):
            head += f'; filename="{value.filename}"\r\nContent-Type: {value.content_type}'
            payload = value.payload
        else:
            payload = value.encode() if isinstance(value, str) else value
        chunks.append(head.encode() + b"\r\n\r\n" + payload + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
