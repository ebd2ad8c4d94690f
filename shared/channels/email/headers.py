"""What an email's headers say: who, when, what about, and which thread.

Message-IDs are normalized once, here, without angle brackets (`abc@host`), for
the message's own id and for the ids it replies to alike, so the thread key a
message registers (`msg#abc@host`) is the key its replies look up.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

MAX_ID_LENGTH = 998  # RFC 5322 line limit; the schema's bound for thread ids
MAX_REFERENCES = 20  # the newest references are the ones that name a known message
MAX_SUBJECT = 998
_MAX_HEADER_READ = 16 * 1024  # a hostile header is cut before any pattern runs over it
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_BARE_ID = re.compile(r"[^<>\s]+@[^<>\s]+")
# Outlook's Thread-Index: 22 bytes (a FILETIME and a conversation GUID) + 5 per reply.
_THREAD_INDEX_HEAD = 22


@dataclass(frozen=True)
class Correspondent:
    address: str
    name: str | None = None


@dataclass(frozen=True)
class HeaderFacts:
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    conversation_key: str | None
    subject: str | None
    sender: Correspondent | None
    to: tuple[Correspondent, ...]
    date: datetime | None


def clean(value: str) -> str:
    """Headers with raw 8-bit bytes decode to surrogates; make them plain text."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def raw_header(message: Message, name: str) -> str | None:
    """The header as it arrived, unparsed: ids are read with our own bounded pattern."""
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return clean(str(value))[:_MAX_HEADER_READ]
    return None


def decoded_header(message: Message, name: str) -> str | None:
    """The header with RFC 2047 words decoded; an undecodable header falls back to its raw text."""
    try:
        value = message.get(name)
    except (ValueError, LookupError, IndexError):
        return raw_header(message, name)
    if value is None:
        return None
    return " ".join(clean(str(value)).split()) or None


def message_ids(value: str | None) -> list[str]:
    """Ids in a Message-ID, In-Reply-To or References header, without angle brackets."""
    if not value:
        return []
    found = _MESSAGE_ID.findall(value) or _BARE_ID.findall(value)
    return [item for item in found if len(item) <= MAX_ID_LENGTH]


def normalize_message_id(value: str | None) -> str | None:
    ids = message_ids(value)
    return ids[0] if ids else None


def conversation_key(thread_index: str | None) -> str | None:
    """Outlook's conversation: the base64 of the first 22 bytes, the same for every reply."""
    if not thread_index:
        return None
    try:
        decoded = base64.b64decode("".join(thread_index.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(decoded) < _THREAD_INDEX_HEAD:
        return None
    return base64.b64encode(decoded[:_THREAD_INDEX_HEAD]).decode()


def _mailboxes(message: Message, name: str) -> tuple[Correspondent, ...]:
    try:
        header = message.get(name)
        addresses: tuple[Address, ...] = tuple(getattr(header, "addresses", ()) or ())
        pairs = [(address.display_name, address.addr_spec) for address in addresses]
    except (ValueError, LookupError, IndexError, AttributeError):
        pairs = getaddresses([raw_header(message, name) or ""])
    return tuple(
        Correspondent(address=clean(spec), name=clean(name_)[:256] or None)
        for name_, spec in pairs
        if spec and "@" in spec
    )


def _date(message: Message) -> datetime | None:
    raw = raw_header(message, "Date")
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def header_facts(message: Message) -> HeaderFacts:
    references = message_ids(raw_header(message, "References"))
    in_reply_to = normalize_message_id(raw_header(message, "In-Reply-To"))
    subject = decoded_header(message, "Subject")
    senders = _mailboxes(message, "From")
    return HeaderFacts(
        message_id=normalize_message_id(raw_header(message, "Message-ID")),
        in_reply_to=in_reply_to,
        references=tuple(dict.fromkeys(references))[-MAX_REFERENCES:],
        conversation_key=conversation_key(raw_header(message, "Thread-Index")),
        subject=subject[:MAX_SUBJECT] if subject else None,
        sender=senders[0] if senders else None,
        to=_mailboxes(message, "To"),
        date=_date(message),
    )
