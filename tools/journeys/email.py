"""Email steps of the journey suite: a real RFC 5322 message, delivered as a Mailgun route does.

The sample builders take no subject, thread or automation headers, so the
runner writes the message itself and posts it the way a Mailgun route with a
raw-MIME destination does (`body-mime` to the route ending in `mime`), with the
Mailgun sample's own signing helpers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from infra.local.samples import SignedRequest
from infra.local.samples import mailgun as mailgun_sample
from tools.journeys.identities import OUR_ADDRESS

MAILGUN_SAMPLE = "mailgun-email"  # its module's helpers sign the request; the journey writes the message
MAILGUN_PROVIDER = "mailgun"
_AGENT_DOMAIN = OUR_ADDRESS.partition("@")[2]
# Header sets that make a message automated (RFC 3834, and what mail servers send).
AUTOMATION_HEADERS: dict[str, tuple[tuple[str, str], ...]] = {
    "auto-replied": (("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")),
    "auto-generated": (("Auto-Submitted", "auto-generated"),),
    "bulk": (("Precedence", "bulk"), ("List-Unsubscribe", f"<mailto:unsubscribe@{_AGENT_DOMAIN}>")),
    "bounce": (("Auto-Submitted", "auto-replied"),),
}


@dataclass(frozen=True)
class Email:
    sender: str
    display_name: str | None
    subject: str
    text: str
    sent_at: datetime
    message_id: str  # without angle brackets, as the parsers store it
    replies_to: str | None = None  # the Message-ID of the customer's earlier email of the thread
    automated: str | None = None


def new_message_id(sender: str) -> str:
    return f"{uuid.uuid4().hex}@{sender.partition('@')[2]}"


def raw_message(email: Email) -> bytes:
    message = EmailMessage()
    message["From"] = formataddr((email.display_name or "", email.sender))
    message["To"] = formataddr(("Example Shop Support", OUR_ADDRESS))
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.sent_at)
    message["Message-ID"] = f"<{email.message_id}>"
    body = email.text
    if email.replies_to:
        # The customer answers our reply to their email: our reply's id is unknown to Threadline,
        # theirs is in References, as every mail client writes it.
        ours = f"{uuid.uuid5(uuid.NAMESPACE_URL, email.replies_to).hex}@{_AGENT_DOMAIN}"
        message["In-Reply-To"] = f"<{ours}>"
        message["References"] = f"<{email.replies_to}> <{ours}>"
        body += "\n\nOn Tue, Example Shop Support wrote:\n> Thanks for writing to us, we are looking into it.\n"
    for name, value in AUTOMATION_HEADERS.get(email.automated or "", ()):
        message[name] = value
    message["MIME-Version"] = "1.0"
    message.set_content(body)
    return message.as_bytes()


def mailgun_request(email: Email) -> SignedRequest:
    """Posted as a Mailgun route with a raw-MIME destination does, signed by the Mailgun sample's helpers."""
    return mailgun_sample.form_request(
        mailgun_sample.signed(mailgun_sample.mime_fields(raw_message(email), OUR_ADDRESS))
    )
