"""Meta's Graph API: the Send API (Messenger, Instagram) and the WhatsApp Cloud API's messages.

- Messenger/Instagram: `POST /{version}/{page-id}/messages` with the page's
  token, `recipient.id` (the page-scoped id), `message.text`, and
  `messaging_type` `RESPONSE` within 24 h of the customer's last message or
  `MESSAGE_TAG` with `tag` `HUMAN_AGENT` up to 7 days. `message.metadata`
  carries the reply's contact id; Meta echoes it back (message_echoes).
  The answer is `{recipient_id, message_id}`.
- WhatsApp: `POST /{version}/{phone-number-id}/messages`, `messaging_product`
  `whatsapp`, `to` (the wa_id), `type` `text` inside the 24-hour customer
  service window or `template` (name, language, body parameters) outside it;
  `biz_opaque_callback_data` carries the contact id into every status webhook.
  The answer is `{messaging_product, contacts: [{input, wa_id}], messages: [{id}]}`.

Errors are `{"error": {message, type, code, error_subcode, fbtrace_id}}`; the
throttling codes (4, 17, 32, 613, 80007, 130429, 131056) are retried, the rest
(131047 re-engagement outside the window, 10/2018278 outside the Messenger
window, 551 unavailable person, ...) refuse the reply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from shared.model.contact import Channel, Contact, DeliveryError, IdentifierKind, SendPolicy
from shared.model.delivery import Refused, RetryLater
from shared.replies.couriers import ProviderRequest, json_answer

THROTTLED = frozenset({4, 17, 32, 613, 80007, 130429, 131056})
ANY_PAGE = "*"


class MetaMessages:
    def __init__(
        self,
        base_url: str,
        version: str,
        page_tokens: Callable[[], Mapping[str, str]],
        whatsapp_token: Callable[[], str],
    ) -> None:
        self._base_url = base_url
        self._version = version
        self._page_tokens = page_tokens
        self._whatsapp_token = whatsapp_token

    def request(self, contact: Contact, now: datetime) -> ProviderRequest:
        if contact.channel is Channel.WHATSAPP:
            sender_id, token, body = contact.sender.handle, self._whatsapp_token(), whatsapp_body(contact)
        else:
            sender_id, body = contact.sender.handle, send_api_body(contact)
            tokens = self._page_tokens()
            token = tokens.get(sender_id or "") or tokens.get(ANY_PAGE, "")
            if not token:
                raise LookupError("META_PAGE_TOKENS has no token for this page")
        if not sender_id:
            raise ValueError("the reply names no page or phone number id to send from")
        return ProviderRequest(
            method="POST",
            url=f"{self._base_url}/{self._version}/{sender_id}/messages",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )

    @staticmethod
    def accepted_id(body: bytes) -> str | None:
        answer = json_answer(body)
        if isinstance(answer.get("message_id"), str):
            return str(answer["message_id"])
        messages = answer.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            message_id = messages[0].get("id")
            return message_id if isinstance(message_id, str) else None
        return None

    @staticmethod
    def refusal(status: int, body: bytes, retry_after_s: int) -> Refused | RetryLater:
        error = json_answer(body).get("error")
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        if code in THROTTLED:
            return RetryLater(f"Meta error {code} (throttled)", retry_after_s)
        subcode = error.get("error_subcode")
        label = f"{code}/{subcode}" if subcode else str(code or status)
        return Refused(DeliveryError(code=label[:64], message=str(error.get("message") or f"HTTP {status}")[:512]))

    @staticmethod
    def reauthorized(now: datetime) -> bool:
        return False  # page and system-user tokens are long-lived; a refused one needs an operator


def page_tokens(secret: str) -> Mapping[str, str]:
    """META_PAGE_TOKENS: `page_id=token,...`; a bare token (no `=`) is the token of every page."""
    tokens: dict[str, str] = {}
    for entry in (item.strip() for item in secret.split(",")):
        page, separator, token = entry.partition("=")
        if separator:
            tokens[page.strip()] = token.strip()
        elif entry:
            tokens.setdefault(ANY_PAGE, entry)
    return tokens


def send_api_body(contact: Contact) -> dict[str, Any]:
    """Messenger and Instagram: the Send API body for the policy the reply was allowed under."""
    assert contact.delivery is not None
    kind = IdentifierKind.MESSENGER if contact.channel is Channel.MESSENGER else IdentifierKind.INSTAGRAM
    scoped = next(i.value for i in contact.recipient.identifiers if i.kind is kind)
    body: dict[str, Any] = {
        "recipient": {"id": scoped.partition(":")[2]},  # our key is <page id>:<page-scoped id>
        "message": {"text": contact.content.text, "metadata": contact.contact_id},
    }
    if contact.delivery.policy is SendPolicy.HUMAN_AGENT:
        body |= {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    else:
        body["messaging_type"] = "RESPONSE"
    return body


def whatsapp_body(contact: Contact) -> dict[str, Any]:
    """WhatsApp Cloud API: free text inside the customer service window, a template outside it."""
    assert contact.delivery is not None
    wa_id = next(i.value for i in contact.recipient.identifiers if i.kind is IdentifierKind.WHATSAPP)
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": wa_id,
        "biz_opaque_callback_data": contact.contact_id,
    }
    template = contact.delivery.template
    if contact.delivery.policy is SendPolicy.TEMPLATE and template is not None:
        components = []
        if template.parameters:
            parameters = [{"type": "text", "text": value} for value in template.parameters]
            components.append({"type": "body", "parameters": parameters})
        body |= {
            "type": "template",
            "template": {"name": template.name, "language": {"code": template.language}, "components": components},
        }
    else:
        body |= {"type": "text", "text": {"preview_url": False, "body": contact.content.text}}
    return body
