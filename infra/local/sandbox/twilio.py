"""A fake Twilio Messages API at `/_sandbox/twilio`: it takes a message, answers as Twilio does, and calls back.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` wants HTTP Basic with the
account SID and auth token (20003 otherwise), a form with `To`, `From` (or
`MessagingServiceSid`) and `Body` or `MediaUrl` (21604, 21603, 21602), a valid
`To` (21211); an unsubscribed recipient is refused with 21610, and a forced
throttle answers 429 (20429) with Retry-After. An accepted message is the
Message resource (`sid` SM…, MM… with media, `status` queued); then the
StatusCallback URL gets `sent` and `delivered` (or `undelivered`, 30003),
form-encoded and signed with X-Twilio-Signature as Twilio signs them.

`/_sandbox/twilio/_control/...`: `POST unsubscribe {"number"}`, `POST undeliverable {"number"}`,
`POST fail_next {"status": 429|500, "count", "retry_after"}`, `GET state`.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from infra.local.gateway import HttpRequest, HttpResponse, json_response
from infra.local.sandbox import SandboxContext, SentMessages, controlled
from shared.channels.twilio import SIGNATURE_HEADER, compute_signature

PROVIDER = "twilio"
API_VERSION = "2010-04-01"
_E164 = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")
_MESSAGES = re.compile(rf"^/{API_VERSION}/Accounts/(?P<sid>[^/]+)/Messages\.json$")


def create(context: SandboxContext) -> TwilioSandbox:
    return TwilioSandbox(context)


@dataclass
class _Forced:
    status: int = 0
    count: int = 0
    retry_after: int = 1


@dataclass
class TwilioSandbox:
    context: SandboxContext
    sent: SentMessages = field(default_factory=SentMessages)
    unsubscribed: set[str] = field(default_factory=set)
    undeliverable: set[str] = field(default_factory=set)
    forced: _Forced = field(default_factory=_Forced)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: HttpRequest, path: str) -> HttpResponse:
        if path.startswith("/_control/"):
            return self._control(request, path.removeprefix("/_control/"))
        match = _MESSAGES.match(path)
        if match is None or request.method != "POST":
            return _error(404, 20404, "The requested resource was not found")
        if not self._authenticated(request, match["sid"]):
            return _error(401, 20003, "Authenticate")
        with self.lock:
            if self.forced.count > 0:
                self.forced.count -= 1
                answer = _error(self.forced.status, 20429 if self.forced.status == 429 else 20500, "Too Many Requests")
                answer.headers.append(("Retry-After", str(self.forced.retry_after)))
                return answer
        return self._create(request, match["sid"])

    def outbox(self) -> list[dict[str, Any]]:
        return self.sent.snapshot()

    # --- a message ------------------------------------------------------------------------------

    def _authenticated(self, request: HttpRequest, path_sid: str) -> bool:
        sid, token = self.context.secret("TWILIO_ACCOUNT_SID"), self.context.secret("TWILIO_AUTH_TOKEN")
        expected = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
        return request.header("authorization") == expected and path_sid == sid

    def _create(self, request: HttpRequest, account_sid: str) -> HttpResponse:
        if (request.header("content-type") or "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return _error(400, 20001, "Content-Type must be application/x-www-form-urlencoded")
        pairs = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        form = dict(pairs)
        media = [value for name, value in pairs if name == "MediaUrl"]
        to, sender = form.get("To", ""), form.get("From") or form.get("MessagingServiceSid", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not media:
            return _error(400, 21602, "Message body is required.")
        if not _E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to.removeprefix("whatsapp:") in self.unsubscribed:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        now = self.context.clock()
        sid = ("MM" if media else "SM") + secrets.token_hex(16)
        resource = {
            "sid": sid,
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": form.get("Body", ""),
            "date_created": format_datetime(now),
            "date_updated": format_datetime(now),
            "date_sent": None,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": str(len(media)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "status": "queued",
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
        }
        delivered = to.removeprefix("whatsapp:") not in self.undeliverable
        self.sent.record(
            at=now,
            to=to,
            message_id=sid,
            kind="mms" if media else "whatsapp" if to.startswith("whatsapp:") else "sms",
            text=form.get("Body", ""),
            status="delivered" if delivered else "undelivered",
        )
        if callback := form.get("StatusCallback"):
            final = (
                {"MessageStatus": "delivered"} if delivered else {"MessageStatus": "undelivered", "ErrorCode": "30003"}
            )
            for after_s, status in ((0.2, {"MessageStatus": "sent"}), (0.5, final)):
                self._call_back(callback, resource, status, after_s)
        return json_response(201, resource)

    def _call_back(self, url: str, resource: dict[str, Any], status: dict[str, str], after_s: float) -> None:
        form = {
            "MessageSid": resource["sid"],
            "SmsSid": resource["sid"],
            "AccountSid": resource["account_sid"],
            "From": resource["from"] or "",
            "To": resource["to"],
            "ApiVersion": API_VERSION,
            "SmsStatus": status["MessageStatus"],
            **status,
        }
        signature = compute_signature(self.context.secret("TWILIO_AUTH_TOKEN"), url, form.items())
        headers = [("Content-Type", "application/x-www-form-urlencoded"), (SIGNATURE_HEADER, signature)]
        self.context.webhooks.post(url, headers, urlencode(form).encode(), after_s=after_s)

    # --- the sandbox's own controls ------------------------------------------------------------------

    def _control(self, request: HttpRequest, action: str) -> HttpResponse:
        def unsubscribe(body: dict[str, Any]) -> None:
            self.unsubscribed.add(str(body["number"]))

        def undeliverable(body: dict[str, Any]) -> None:
            self.undeliverable.add(str(body["number"]))

        def fail_next(body: dict[str, Any]) -> None:
            with self.lock:
                self.forced = _Forced(int(body["status"]), int(body.get("count", 1)), int(body.get("retry_after", 1)))

        actions = {"unsubscribe": unsubscribe, "undeliverable": undeliverable, "fail_next": fail_next}
        state = {"sent": len(self.sent.items), "unsubscribed": sorted(self.unsubscribed)}
        return controlled(request, action, actions, lambda: state)


def _error(status: int, code: int, message: str) -> HttpResponse:
    """Twilio's error body."""
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return json_response(status, {"code": code, "message": message, "more_info": more_info, "status": status})
