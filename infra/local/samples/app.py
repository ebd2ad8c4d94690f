"""A signed first-party app event: an authenticated account with the phone and email the app verified."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from infra import topology
from infra.local.samples import SampleOptions, SignedRequest, signed_json
from shared.channels.app import SIGNATURE_HEADER, signature

PATH = "/webhooks/app"
DEFAULT_ACCOUNT = "acct_1001"
DEFAULT_PHONE = "+14155550123"


def build(options: SampleOptions) -> SignedRequest:
    verified: dict[str, str] = {"phone": options.sender or DEFAULT_PHONE}
    payload = {
        "event_id": options.message_id or f"evt_{uuid.uuid4().hex}",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer": {"app_customer_id": options.recipient or DEFAULT_ACCOUNT, "verified": verified},
        "message": {"text": options.text},
    }
    stamp = str(int(time.time()))
    secret = topology.local_secret("APP_WEBHOOK_SECRET")
    return signed_json(PATH, payload, SIGNATURE_HEADER, lambda body: f"t={stamp},v1={signature(secret, stamp, body)}")
