"""A fake Graph API at `/_sandbox/meta`: the Send API (Messenger, Instagram) and WhatsApp Cloud API messages.

`POST /{version}/{id}/messages` with a Bearer token: the page's token for a page
(META_PAGE_TOKENS), the WhatsApp token for a phone number id. Meta refuses a bad
token (190), a body without its required fields (100), a `messaging_type`
MESSAGE_TAG without a tag, free text to a person whose window is closed
(Messenger 10/2018278; WhatsApp 131047 "Re-engagement message"), and a forced
throttle (WhatsApp 130429, Messenger 613). Accepted: `{recipient_id, message_id}`
(Messenger) or `{messaging_product, contacts, messages: [{id: wamid…}]}`
(WhatsApp); then `/webhooks/meta` gets what Meta posts, signed with
X-Hub-Signature-256: the echo (with our metadata) and a delivery for Messenger,
`sent` and `delivered` statuses (with biz_opaque_callback_data) for WhatsApp.

`/_sandbox/meta/_control/...`: `POST window {"recipient", "open": false}` closes a
person's window, `POST fail_next {"count"}` throttles, `GET state`.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from infra.local.gateway import HttpRequest, HttpResponse, json_response
from infra.local.samples.meta import BUSINESS_PHONE, WHATSAPP_BUSINESS_ACCOUNT_ID
from infra.local.sandbox import SandboxContext, SentMessages, controlled
from shared.channels.meta import SIGNATURE_HEADER, signature
from shared.replies.providers.meta import ANY_PAGE, page_tokens

PROVIDER = "meta"
WEBHOOK_PATH = "/webhooks/meta"  # the callback URL the Meta app is configured with, on the stack
_MESSAGES = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<id>[^/]+)/messages$")
_MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
_TAGS = frozenset({"HUMAN_AGENT", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"})


def create(context: SandboxContext) -> MetaSandbox:
    return MetaSandbox(context)


class Refusal(ValueError):
    def __init__(self, code: int, message: str, subcode: int | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.subcode, self.status = code, subcode, status


@dataclass
class MetaSandbox:
    context: SandboxContext
    sent: SentMessages = field(default_factory=SentMessages)
    closed_windows: set[str] = field(default_factory=set)
    throttled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: HttpRequest, path: str) -> HttpResponse:
        if path.startswith("/_control/"):
            return self._control(request, path.removeprefix("/_control/"))
        match = _MESSAGES.match(path)
        if match is None or request.method != "POST":
            return _error(Refusal(100, "Unsupported post request.", status=400))
        try:
            body = json.loads(request.body or b"null")
            if not isinstance(body, dict):
                raise Refusal(100, "(#100) The parameter body is required")
            token = (request.header("authorization") or "").removeprefix("Bearer ").strip()
            with self.lock:
                if self.throttled > 0:
                    self.throttled -= 1
                    whatsapp = body.get("messaging_product") == "whatsapp"
                    raise Refusal(130429 if whatsapp else 613, "(#130429) Rate limit hit")
            if body.get("messaging_product") == "whatsapp":
                return self._whatsapp(match["id"], token, body)
            return self._send_api(match["id"], token, body)
        except Refusal as refusal:
            return _error(refusal)
        except (ValueError, TypeError, KeyError, AttributeError):
            return _error(Refusal(100, "(#100) Invalid parameter"))

    def outbox(self) -> list[dict[str, Any]]:
        return self.sent.snapshot()

    # --- WhatsApp Cloud API --------------------------------------------------------------------------

    def _whatsapp(self, phone_number_id: str, token: str, body: dict[str, Any]) -> HttpResponse:
        if token != self.context.secret("WHATSAPP_ACCESS_TOKEN"):
            raise Refusal(190, "Invalid OAuth access token - Cannot parse access token", status=401)
        to, kind = str(body.get("to") or ""), body.get("type", "text")
        if not to:
            raise Refusal(100, "(#100) The parameter to is required.")
        if kind == "text":
            text = (body.get("text") or {}).get("body")
            if not text:
                raise Refusal(100, "(#100) The parameter text['body'] is required.")
            if to in self.closed_windows:
                raise Refusal(131047, "Re-engagement message")
        elif kind == "template":
            template = body.get("template") or {}
            if not template.get("name") or not (template.get("language") or {}).get("code"):
                raise Refusal(100, "(#100) The parameter template['name'] and template['language'] are required.")
            text = f"[template {template['name']}]"
        else:
            raise Refusal(100, f"(#100) Param type must be one of {{TEXT, TEMPLATE}} - got {kind}")
        wamid = "wamid." + secrets.token_urlsafe(30)
        self._record(to, wamid, "whatsapp", text)
        correlation = body.get("biz_opaque_callback_data")
        for after_s, status in ((0.2, "sent"), (0.5, "delivered")):
            value = {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": BUSINESS_PHONE.lstrip("+"), "phone_number_id": phone_number_id},
                "statuses": [
                    {
                        "id": wamid,
                        "status": status,
                        "timestamp": str(int(self.context.clock().timestamp())),
                        "recipient_id": to,
                        **({"biz_opaque_callback_data": correlation} if correlation else {}),
                    }
                ],
            }
            change = {"value": value, "field": "messages"}
            self._webhook(
                {
                    "object": "whatsapp_business_account",
                    "entry": [{"id": WHATSAPP_BUSINESS_ACCOUNT_ID, "changes": [change]}],
                },
                after_s,
            )
        answer: dict[str, Any] = {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}]}
        return json_response(200, answer | {"messages": [{"id": wamid}]})

    # --- the Send API (Messenger, Instagram) ------------------------------------------------------------

    def _send_api(self, page_id: str, token: str, body: dict[str, Any]) -> HttpResponse:
        tokens = page_tokens(self.context.secret("META_PAGE_TOKENS"))
        if token != tokens.get(page_id, tokens.get(ANY_PAGE)):
            raise Refusal(190, "Invalid OAuth access token - Cannot parse access token", status=401)
        recipient = str((body.get("recipient") or {}).get("id") or "")
        message = body.get("message") or {}
        if not recipient:
            raise Refusal(100, "(#100) The parameter recipient is required")
        if not message.get("text") and not message.get("attachment"):
            raise Refusal(100, "(#100) Must send either message or sender action")
        messaging_type = body.get("messaging_type")
        if messaging_type not in _MESSAGING_TYPES:
            raise Refusal(100, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
        if messaging_type == "MESSAGE_TAG" and body.get("tag") not in _TAGS:
            raise Refusal(100, "(#100) Param tag must be a valid message tag")
        if recipient in self.closed_windows and messaging_type != "MESSAGE_TAG":
            raise Refusal(10, "(#10) This message is sent outside of allowed window.", subcode=2018278)
        mid = "m_" + secrets.token_urlsafe(40)
        self._record(recipient, mid, "messenger", str(message.get("text") or "[attachment]"))
        now_ms = int(self.context.clock().timestamp() * 1000)
        echo = {
            "sender": {"id": page_id},
            "recipient": {"id": recipient},
            "timestamp": now_ms,
            "message": {"mid": mid, "is_echo": True, "text": message.get("text"), "metadata": message.get("metadata")},
        }
        delivery = {
            "sender": {"id": recipient},
            "recipient": {"id": page_id},
            "timestamp": now_ms + 300,
            "delivery": {"mids": [mid], "watermark": now_ms},
        }
        for after_s, event in ((0.2, echo), (0.5, delivery)):
            self._webhook({"object": "page", "entry": [{"id": page_id, "time": now_ms, "messaging": [event]}]}, after_s)
        return json_response(200, {"recipient_id": recipient, "message_id": mid})

    # --- mechanics ---------------------------------------------------------------------------------------

    def _record(self, to: str, message_id: str, kind: str, text: str) -> None:
        self.sent.record(
            at=self.context.clock(), to=to, message_id=message_id, kind=kind, text=text, status="delivered"
        )

    def _webhook(self, payload: dict[str, Any], after_s: float) -> None:
        body = json.dumps(payload).encode()
        headers = [
            ("Content-Type", "application/json"),
            (SIGNATURE_HEADER, signature(self.context.secret("META_APP_SECRET"), body)),
        ]
        self.context.webhooks.post(WEBHOOK_PATH, headers, body, after_s=after_s)

    def _control(self, request: HttpRequest, action: str) -> HttpResponse:
        def window(body: dict[str, Any]) -> None:
            recipient = str(body["recipient"])
            with self.lock:
                (self.closed_windows.discard if body.get("open", False) else self.closed_windows.add)(recipient)

        def fail_next(body: dict[str, Any]) -> None:
            with self.lock:
                self.throttled = int(body.get("count", 1))

        state = {"sent": len(self.sent.items), "closed_windows": sorted(self.closed_windows)}
        return controlled(request, action, {"window": window, "fail_next": fail_next}, lambda: state)


def _error(refusal: Refusal) -> HttpResponse:
    error: dict[str, Any] = {
        "message": str(refusal),
        "type": "OAuthException",
        "code": refusal.code,
        "fbtrace_id": secrets.token_urlsafe(12),
    }
    if refusal.subcode is not None:
        error["error_subcode"] = refusal.subcode
    return json_response(refusal.status, {"error": error})
