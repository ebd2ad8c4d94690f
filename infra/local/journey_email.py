"""Email steps of the journey suite: a real RFC 5322 message, delivered as a Mailgun route does.

The sample builders take no subject, thread or automation headers, so the
runner writes the message itself and posts it the way a Mailgun route with a
raw-MIME destination does (`body-mime` plus Mailgun's signature fields, signed
with the documented algorithm: hex HMAC-SHA256 of timestamp + token).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import urlencode

from infra.local.journey_identities import OUR_ADDRESS
from infra.local.samples import SignedRequest
from shared.config import get_secret
from shared.webhooks.signatures import hmac_hex

MAILGUN_PATH = "/webhooks/mailgun"
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
    """A Mailgun route's POST of the raw message (URL-encoded: the message has no attachments)."""
    timestamp = str(int(time.time()))  # Mailgun's own clock: the signature is fresh, the Date header is not
    token = secrets.token_hex(25)  # Mailgun's tokens are 50 characters
    form = [
        ("recipient", OUR_ADDRESS),
        ("sender", email.sender),
        ("from", formataddr((email.display_name or "", email.sender))),
        ("subject", email.subject),
        ("body-mime", raw_message(email).decode("utf-8")),
        ("timestamp", timestamp),
        ("token", token),
        ("signature", hmac_hex(get_secret("MAILGUN_SIGNING_KEY"), (timestamp + token).encode())),
    ]
    return SignedRequest(
        method="POST",
        path=MAILGUN_PATH,
        body=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
