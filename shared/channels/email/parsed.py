"""One parsed inbound email, whichever provider delivered it and in whichever form.

A raw MIME message (`shared.channels.email.mime`) and a provider's pre-parsed fields
(SendGrid and Mailgun parsed mode) both end in `assemble`, so headers, threading,
automation, text and case references are read the same way for every provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from shared.channels.email.automation import automated_reason
from shared.channels.email.headers import HeaderFacts, clean, header_facts, normalize_message_id
from shared.channels.email.limits import EmailLimits
from shared.channels.email.text import BodyText, body_text
from shared.model.contact import Attachment, AttachmentType
from shared.model.minted import parse_case_reference

MAX_CASE_REFERENCES = 5
MAX_NAME = 255  # attachment names and content ids: bounded so 30 of them stay small in SQS
_CASE_REFERENCE = re.compile(r"\bTL-[0-9A-Z]{8}-?[0-9A-Z]\b", re.IGNORECASE)
_MAJOR_TYPES = {"image": AttachmentType.IMAGE, "audio": AttachmentType.AUDIO, "video": AttachmentType.VIDEO}


@dataclass(frozen=True)
class AttachmentPart:
    """An attachment's metadata and its bytes; only the metadata reaches the queue."""

    attachment: Attachment
    payload: bytes


@dataclass(frozen=True)
class ParsedEmail:
    headers: HeaderFacts
    body: BodyText
    attachments: tuple[AttachmentPart, ...]
    automated: str | None  # why it counts as automated (a signal name), or None
    case_references: tuple[str, ...]
    cut_off: bool  # parts, nesting, attachments or text beyond the limits were dropped
    raw: bytes | None = None  # the message as it arrived, when the provider sent it whole


def attachment_part(
    payload: bytes, content_type: str, name: str | None = None, content_id: str | None = None
) -> AttachmentPart:
    content_type = content_type.lower()[:255] or "application/octet-stream"
    kind = _MAJOR_TYPES.get(content_type.split("/", 1)[0], AttachmentType.FILE)
    cid = normalize_message_id(content_id) or (content_id.strip("<> \t") if content_id else None)
    return AttachmentPart(
        attachment=Attachment(
            type=kind,
            content_type=content_type,
            size=len(payload),
            name=clean(name)[:MAX_NAME] if name else None,
            content_id=cid[:MAX_NAME] if cid else None,
        ),
        payload=payload,
    )


def case_references(*texts: str | None) -> tuple[str, ...]:
    """Valid case references (check symbol verified) in the order they appear, at most 5."""
    found: dict[str, None] = {}
    for text in texts:
        for candidate in _CASE_REFERENCE.findall(text or ""):
            reference = parse_case_reference(candidate)
            if reference:
                found.setdefault(reference)
    return tuple(found)[:MAX_CASE_REFERENCES]


def assemble(
    message: Message,
    *,
    plain: str | None,
    html: str | None,
    attachments: list[AttachmentPart],
    limits: EmailLimits,
    cut_off: bool = False,
    raw: bytes | None = None,
) -> ParsedEmail:
    """`message` carries the headers (its body, if any, has already been read into plain/html)."""
    facts = header_facts(message)
    body = body_text(plain, html, limits)
    return ParsedEmail(
        headers=facts,
        body=body,
        attachments=tuple(attachments[: limits.max_attachments]),
        automated=automated_reason(message, facts.sender),
        case_references=case_references(facts.subject, body.full_text),
        cut_off=cut_off or body.truncated or len(attachments) > limits.max_attachments,
        raw=raw,
    )
