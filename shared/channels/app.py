"""The first-party app or web chat (`POST /webhooks/app`) → one contact with verified identifiers.

The app signs `"<t>.<body>"` with HMAC-SHA256 (`X-Threadline-Signature: t=<unix>,v1=<hex>`)
and vouches for its authenticated customer id and the phone/email it has verified,
which is what lets this channel merge customers (DESIGN.md rule 3).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.ingest.errors import InvalidSignature, MalformedPayload, MissingSignature
from shared.ingest.request import WebhookRequest
from shared.ingest.signatures import hmac_hex, require_match
from shared.model import identifiers, minted
from shared.model.contact import (
    Assurance,
    Channel,
    Contact,
    Content,
    Direction,
    Identifier,
    IdentifierKind,
    Party,
    Provider,
)
from shared.model.identifiers import InvalidIdentifier

SIGNATURE_HEADER = "x-threadline-signature"
MAX_CLOCK_SKEW = timedelta(minutes=5)


class _Strict(BaseModel):
    # Our own contract with our own app: a field it invents fails loudly (400), never vanishes.
    model_config = ConfigDict(extra="forbid", frozen=True)


class VerifiedIdentifiers(_Strict):
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)


class AppCustomer(_Strict):
    app_customer_id: str = Field(min_length=1, max_length=256)
    verified: VerifiedIdentifiers = VerifiedIdentifiers()
    display_name: str | None = Field(default=None, max_length=256)


class AppMessage(_Strict):
    text: str | None = Field(default=None, max_length=20_000)


class AppEvent(_Strict):
    event_id: str = Field(min_length=1, max_length=256)
    occurred_at: datetime
    customer: AppCustomer
    message: AppMessage = AppMessage()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac_hex(secret, timestamp.encode() + b"." + body)


def verify(request: WebhookRequest, secret: str) -> None:
    """The signature first (so an unsigned request learns nothing), then the clock, both ways."""
    header = request.headers.get(SIGNATURE_HEADER)
    if not header:
        raise MissingSignature(f"{SIGNATURE_HEADER} is missing")
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    timestamp = fields.get("t", "")
    require_match(fields.get("v1"), signature(secret, timestamp, request.body), header=SIGNATURE_HEADER)
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), tz=request.received_at.tzinfo)
    except (ValueError, OverflowError, OSError) as error:
        raise InvalidSignature("timestamp is not a number of seconds") from error
    if abs(request.received_at - signed_at) > MAX_CLOCK_SKEW:
        raise InvalidSignature("timestamp is more than 5 minutes off")


def _verified(customer: AppCustomer, default_region: str) -> tuple[Identifier, ...]:
    found = [identifiers.account(IdentifierKind.APP, customer.app_customer_id, Assurance.VERIFIED)]
    try:
        if customer.verified.phone:
            found.append(identifiers.phone(customer.verified.phone, default_region, Assurance.VERIFIED))
        if customer.verified.email:
            found.append(identifiers.email(customer.verified.email, Assurance.VERIFIED))
    except InvalidIdentifier as error:
        raise MalformedPayload(str(error)) from error
    return tuple(found)


def parse(request: WebhookRequest, *, default_region: str) -> list[Contact]:
    try:
        event = AppEvent.model_validate_json(request.body)
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        raise MalformedPayload(f"app event is not valid: {fields}") from None
    if event.occurred_at.tzinfo is None:
        raise MalformedPayload("occurred_at must carry a timezone")
    text = event.message.text
    return [
        Contact(
            contact_id=minted.contact_id(Provider.APP.value, event.event_id, event.occurred_at),
            channel=Channel.APP,
            provider=Provider.APP,
            direction=Direction.INBOUND,
            provider_message_id=event.event_id,
            occurred_at=event.occurred_at,
            received_at=request.received_at,
            sender=Party(
                identifiers=_verified(event.customer, default_region), display_name=event.customer.display_name
            ),
            recipient=Party(),
            content=Content(text=text),
        )
    ]
