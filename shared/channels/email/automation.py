"""Is this email written by a machine? Auto-replies, out-of-office notes, bounces, bulk mail.

Such mail is stored but flagged `automated`, so it never opens a case and never
triggers anything that could answer it (two auto-responders answering each
other is a mail loop). Signals are headers standardized for exactly this
(RFC 3834 Auto-Submitted, RFC 3464 delivery reports) plus the de-facto ones that
Exchange, Gmail and list servers send; subject guessing is limited to the fixed
prefixes clients put on automatic replies.
"""

from __future__ import annotations

import re
from email.message import Message

from shared.channels.email.headers import Correspondent, decoded_header, raw_header

_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
# Exchange sets these on automatic replies and asks others not to answer them.
_SUPPRESSED_RESPONSES = frozenset({"all", "oof", "autoreply"})
_SYSTEM_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|noreply-dmarc-support)([+.-]|@)", re.IGNORECASE)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto-?reply|autoreply|out of (the )?office|abwesenheitsnotiz|réponse automatique"
    r"|respuesta automática|risposta automatica|自動応答)\s*:",
    re.IGNORECASE,
)


def _delivery_report(message: Message) -> bool:
    if message.get_content_type() == "multipart/report":
        return True
    if not message.is_multipart():
        return False
    parts = [part for part in message.get_payload() if isinstance(part, Message)]
    return any(part.get_content_type() == "message/delivery-status" for part in parts[:10])


def automated_reason(message: Message, sender: Correspondent | None) -> str | None:
    """Why the message counts as automated (a header name, never a value), or None."""
    auto_submitted = (raw_header(message, "Auto-Submitted") or "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return "auto-submitted"
    if (raw_header(message, "Precedence") or "").strip().lower() in _BULK_PRECEDENCE:
        return "precedence"
    if raw_header(message, "X-Autoreply") is not None or raw_header(message, "X-Autorespond") is not None:
        return "x-autoreply"
    suppressed = {item.strip().lower() for item in (raw_header(message, "X-Auto-Response-Suppress") or "").split(",")}
    if suppressed & _SUPPRESSED_RESPONSES:
        return "x-auto-response-suppress"
    if _delivery_report(message):
        return "delivery-report"
    if (raw_header(message, "Return-Path") or "").strip() == "<>":
        return "null-return-path"
    if sender and _SYSTEM_SENDER.match(sender.address):
        return "system-sender"
    if _AUTO_REPLY_SUBJECT.match(decoded_header(message, "Subject") or ""):
        return "auto-reply-subject"
    return None
