"""Twilio's Messages API: SMS, MMS and WhatsApp through Twilio.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`,
`From`, `Body`, `MediaUrl` (repeated), `StatusCallback`; HTTP Basic with the
account SID and auth token; the answer is the Message resource (`sid` SM…/MM…,
`status` queued). Errors are `{code, message, more_info, status}`; 21610 means
the recipient replied STOP. The request is the one twilio-python's
`client.messages.create` builds (tests/unit/test_reply_providers.py checks it).

The StatusCallback URL carries the reply's contact id: Twilio signs and posts
to it, so a status names its reply even when the send's own answer was lost.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote, urlencode

from shared.model.contact import Channel, Contact, DeliveryError, IdentifierKind
from shared.model.delivery import Refused, RetryLater
from shared.replies.couriers import ProviderRequest, json_answer

UNSUBSCRIBED_RECIPIENT = 21610  # "Attempt to send to unsubscribed recipient"
TOO_MANY_REQUESTS = 20429
WHATSAPP_PREFIX = "whatsapp:"
STATUS_PATH = "/webhooks/twilio/status"


class TwilioMessages:
    def __init__(
        self,
        base_url: str,
        account_sid: Callable[[], str],
        auth_token: Callable[[], str],
        public_url: str,
    ) -> None:
        self._base_url = base_url
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._status_callback = public_url + STATUS_PATH

    def request(self, contact: Contact, now: datetime) -> ProviderRequest:
        sid = self._account_sid()
        form = [("To", _address(contact, recipient=True)), ("From", _address(contact, recipient=False))]
        if contact.content.text:
            form.append(("Body", contact.content.text))
        form += [("MediaUrl", attachment.url) for attachment in contact.content.attachments if attachment.url]
        form.append(("StatusCallback", status_callback_url(self._status_callback, contact.contact_id)))
        credentials = base64.b64encode(f"{sid}:{self._auth_token()}".encode()).decode()
        return ProviderRequest(
            method="POST",
            url=f"{self._base_url}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json",
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            body=urlencode(form).encode(),
        )

    @staticmethod
    def accepted_id(body: bytes) -> str | None:
        sid = json_answer(body).get("sid")
        return sid if isinstance(sid, str) and sid else None

    @staticmethod
    def refusal(status: int, body: bytes, retry_after_s: int) -> Refused | RetryLater:
        answer = json_answer(body)
        code = answer.get("code")
        if code == TOO_MANY_REQUESTS:
            return RetryLater("Twilio 20429 too many requests", retry_after_s)
        message = str(answer.get("message") or f"HTTP {status}")
        error = DeliveryError(code=str(code or status), message=message[:512])
        return Refused(error, opted_out=code == UNSUBSCRIBED_RECIPIENT)

    @staticmethod
    def reauthorized(now: datetime) -> bool:
        return False  # a wrong auth token stays wrong


def status_callback_url(base: str, contact_id: str) -> str:
    return f"{base}?{urlencode({'reply': contact_id})}"


def _address(contact: Contact, *, recipient: bool) -> str:
    """E.164 phone numbers; WhatsApp through Twilio is `whatsapp:+<number>` on both sides."""
    party = contact.recipient if recipient else contact.sender
    phone = next((i.value for i in party.identifiers if i.kind is IdentifierKind.PHONE), None)
    if phone is None and (wa_id := next((i.value for i in party.identifiers if i.kind is IdentifierKind.WHATSAPP), "")):
        phone = "+" + wa_id.lstrip("+")
    if phone is None:
        raise ValueError("a Twilio message needs a phone number on both sides")
    return WHATSAPP_PREFIX + phone if contact.channel is Channel.WHATSAPP else phone
