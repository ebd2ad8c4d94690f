"""An email a provider posts as a form: its raw MIME when it sends one, else its split-out fields.

SendGrid (raw or parsed mode) and Mailgun (`body-mime` or parsed fields) differ only
in their field names; choosing between the two forms, and the id a message
without a Message-ID gets, is decided here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.channels.email.contacts import digest_id
from shared.channels.email.limits import EmailLimits
from shared.channels.email.mime import parse_fields, parse_message
from shared.channels.email.parsed import AttachmentPart, ParsedEmail


@dataclass(frozen=True)
class PostedFields:
    header_block: bytes
    plain: str | None
    html: str | None
    attachments: list[AttachmentPart]


def parse_posted(raw: bytes | None, fields: Callable[[], PostedFields], limits: EmailLimits) -> tuple[ParsedEmail, str]:
    """The parsed email and its fallback message id (stable across a provider's retries)."""
    if raw is not None:
        return parse_message(raw, limits), digest_id(raw)
    posted = fields()
    parsed = parse_fields(
        posted.header_block, plain=posted.plain, html=posted.html, attachments=posted.attachments, limits=limits
    )
    return parsed, digest_id(posted.header_block, (posted.plain or "").encode())
