"""An email reply as raw MIME for SES v2 `SendEmail` (`Content.Raw`): our headers, the customer's thread.

`Message-ID` is ours (minted in `shared.replies.compose`, stored without angle
brackets like every Message-ID), `In-Reply-To` and `References` name the
customer's last email, the subject is `Re: …` with the case reference, `From`
is the configured support address. The customer's answer quotes our
Message-ID, whose thread key names the case: it lands on the same case.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from shared.model.contact import Contact, IdentifierKind


def recipient_address(contact: Contact) -> str:
    return next(i.value for i in contact.recipient.identifiers if i.kind is IdentifierKind.EMAIL)


def raw_reply(contact: Contact, from_address: str) -> bytes:
    thread = contact.thread
    message = EmailMessage(policy=SMTP)
    message["From"] = from_address
    message["To"] = recipient_address(contact)
    message["Subject"] = thread.subject or contact.content.subject or ""
    message["Date"] = format_datetime(contact.occurred_at)
    message["Message-ID"] = f"<{thread.message_id}>"
    if thread.in_reply_to:
        message["In-Reply-To"] = f"<{thread.in_reply_to}>"
    if thread.references:
        message["References"] = " ".join(f"<{reference}>" for reference in thread.references)
    message.set_content(contact.content.text or "")
    return message.as_bytes()
