"""Meta webhooks (Messenger, Instagram, WhatsApp Cloud API): handshake, signature, dispatch.

One Meta app posts every product it is subscribed to to one URL; the `object`
field says which product a request is about, and each product has its own
parser module.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pydantic import Field

from shared.channels import meta_messenger, meta_whatsapp
from shared.channels.payloads import ParsedBatch, ProviderPayload, json_object
from shared.ingest.errors import InvalidSignature
from shared.ingest.request import WebhookRequest
from shared.ingest.signatures import hmac_hex, require_match
from shared.model.contact import Channel, IdentifierKind

SIGNATURE_HEADER = "x-hub-signature-256"
SIGNATURE_PREFIX = "sha256="
MAX_CHALLENGE_LENGTH = 256


def signature(app_secret: str, body: bytes) -> str:
    """X-Hub-Signature-256: `sha256=` and the hex HMAC-SHA256 of the exact body bytes."""
    return SIGNATURE_PREFIX + hmac_hex(app_secret, body)


def verify(request: WebhookRequest, app_secret: str) -> None:
    presented = request.header(SIGNATURE_HEADER)
    if presented and presented.strip().lower().startswith(SIGNATURE_PREFIX):
        # Hex is case-insensitive; Meta sends lower case, a proxy may not.
        presented = presented.strip().lower()
    require_match(presented, signature(app_secret, request.body), header=SIGNATURE_HEADER)


def confirm_subscription(query: Mapping[str, str], verify_token: str) -> str:
    """The GET handshake: answer `hub.challenge` only to a subscribe call that knows our token."""
    challenge = query.get("hub.challenge", "")
    if query.get("hub.mode") != "subscribe" or not challenge or len(challenge) > MAX_CHALLENGE_LENGTH:
        raise InvalidSignature("hub.mode must be subscribe, with a hub.challenge")
    presented = query.get("hub.verify_token", "")
    if not hmac.compare_digest(presented.encode(), verify_token.encode()):
        raise InvalidSignature("hub.verify_token does not match")
    return challenge


class _Envelope(ProviderPayload):
    product: str = Field(alias="object")  # page, instagram or whatsapp_business_account
    entry: list[object]


def parse(request: WebhookRequest) -> ParsedBatch:
    """Every message of every entry becomes one contact; everything else is counted, not stored."""
    envelope = _Envelope.model_validate(json_object(request))
    batch = ParsedBatch()
    if envelope.product == "page":
        meta_messenger.parse_entries(envelope.entry, Channel.MESSENGER, IdentifierKind.MESSENGER, request, batch)
    elif envelope.product == "instagram":
        meta_messenger.parse_entries(envelope.entry, Channel.INSTAGRAM, IdentifierKind.INSTAGRAM, request, batch)
    elif envelope.product == "whatsapp_business_account":
        meta_whatsapp.parse_entries(envelope.entry, request, batch)
    else:
        # "user", "permissions", a product Meta adds later: acknowledged, not ours to store.
        batch.ignore(f"meta.{envelope.product[:40]}", len(envelope.entry))
    return batch
