"""Couriers: one reply through one provider. The HTTP one serves Twilio, Meta's Graph API and X alike.

A provider module (`shared.replies.providers.*`) says only what is its own: the
request it builds, the id in an accepted answer, what a refusal means. What
every REST provider shares lives here once: the transport's two failures
(never connected: retry; no answer: outcome unknown), 429 and 5xx as a retry
after `Retry-After` (seconds or an HTTP date) or X's `x-rate-limit-reset`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from shared.config import SecretUnavailable
from shared.model.contact import Contact, DeliveryError
from shared.model.delivery import Accepted, Refused, RetryLater, SendOutcome, Unknown
from shared.model.failures import DependencyUnavailable, ProviderNoAnswer, ProviderUnreachable

DEFAULT_RETRY_S = 30
MAX_RETRY_S = 900  # the longest an SQS message can stay invisible in one go is 12 h; a reply should not wait that


@dataclass(frozen=True)
class ProviderRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """`shared.adapters.https.UrllibTransport`: raises ProviderUnreachable or ProviderNoAnswer."""

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]: ...


class RestProvider(Protocol):
    def request(self, contact: Contact, now: datetime) -> ProviderRequest: ...

    def accepted_id(self, body: bytes) -> str | None:
        """The provider's id of the message in a 2xx answer."""
        ...

    def refusal(self, status: int, body: bytes, retry_after_s: int) -> Refused | RetryLater:
        """A 4xx other than 429: refused for good, or a provider-specific throttle."""
        ...

    def reauthorized(self, now: datetime) -> bool:
        """After a 401: True when fresh credentials are worth one more try (an OAuth refresh)."""
        ...


class RestCourier:
    def __init__(self, provider: RestProvider, transport: Transport) -> None:
        self._provider = provider
        self._transport = transport

    def send(self, contact: Contact, now: datetime) -> SendOutcome:
        status, headers, body = 0, dict[str, str](), b""
        for _ in range(2):
            try:
                request = self._provider.request(contact, now)
            except (DependencyUnavailable, SecretUnavailable) as error:
                return RetryLater(f"credentials unavailable ({type(error).__name__})", DEFAULT_RETRY_S)
            except (LookupError, ValueError, RuntimeError) as error:
                # Nothing went out: the reply cannot be built for this provider (no token for the page, a
                # revoked grant). Our own messages, never a customer's words.
                return Refused(DeliveryError(code="not_sendable", message=str(error)[:512]))
            try:
                status, headers, body = self._transport.send(request.method, request.url, request.headers, request.body)
            except ProviderUnreachable:
                return RetryLater("the provider cannot be reached", DEFAULT_RETRY_S)
            except ProviderNoAnswer:
                return Unknown("the provider did not answer")
            if status != 401 or not self._provider.reauthorized(now):
                break
        return outcome(self._provider, status, headers, body, now)


def outcome(provider: RestProvider, status: int, headers: Mapping[str, str], body: bytes, now: datetime) -> SendOutcome:
    if 200 <= status < 300:
        provider_id = provider.accepted_id(body)
        return Accepted(provider_id) if provider_id else Unknown(f"HTTP {status} without a message id")
    wait = retry_after_s(headers, now)
    if status == 429 or status >= 500:
        return RetryLater(f"HTTP {status} from the provider", wait)
    return provider.refusal(status, body, wait)


def retry_after_s(headers: Mapping[str, str], now: datetime) -> int:
    """Retry-After (delta-seconds or an HTTP date, RFC 9110), else X's x-rate-limit-reset, else a default."""
    value = headers.get("retry-after", "").strip()
    seconds: float | None = None
    if value.isdigit():
        seconds = int(value)
    elif value:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            seconds = None
    reset = headers.get("x-rate-limit-reset", "").strip()
    if seconds is None and reset.isdigit():
        seconds = int(reset) - now.timestamp()
    if seconds is None:
        return DEFAULT_RETRY_S
    return int(min(max(seconds, 1), MAX_RETRY_S))


def json_answer(body: bytes) -> dict[str, Any]:
    """A provider's JSON object answer, or {} when it is not one (refusals are then judged by status)."""
    try:
        answer = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return {}
    return answer if isinstance(answer, dict) else {}


class RawMailer(Protocol):
    """SES v2 SendEmail with raw content (`shared.adapters.aws_senders.SesMailer`)."""

    def send_raw(self, raw: bytes, sender: str, recipient: str, tags: Mapping[str, str]) -> SendOutcome: ...


class TextSender(Protocol):
    """End User Messaging SendTextMessage (`shared.adapters.aws_senders.EumTextSender`)."""

    def send_text(self, to: str, origination: str, body: str, context: Mapping[str, str]) -> SendOutcome: ...


class MailCourier:
    def __init__(self, mailer: RawMailer, from_address: str) -> None:
        self._mailer = mailer
        self._from = from_address

    def send(self, contact: Contact, now: datetime) -> SendOutcome:
        from shared.replies.providers.email import raw_reply, recipient_address

        # The tag comes back in every SES event (delivery, bounce, complaint) for this message.
        tags = {"contact_id": contact.contact_id}
        return self._mailer.send_raw(raw_reply(contact, self._from), self._from, recipient_address(contact), tags)


class SmsCourier:
    def __init__(self, sender: TextSender) -> None:
        self._sender = sender

    def send(self, contact: Contact, now: datetime) -> SendOutcome:
        to = next(i.value for i in contact.recipient.identifiers if i.kind.value == "phone")
        origination = next((i.value for i in contact.sender.identifiers if i.kind.value == "phone"), None)
        if origination is None:
            return Refused(DeliveryError(code="not_sendable", message="no origination number to send from"))
        return self._sender.send_text(to, origination, contact.content.text or "", {"contact_id": contact.contact_id})
