"""A signed first-party app event: an authenticated account with the phone and email the app verified."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from infra.local.samples import SampleOptions, SignedRequest
from shared.channels.app import SIGNATURE_HEADER, signature
from shared.config import get_secret

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
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: f"t={stamp},v1={signature(get_secret('APP_WEBHOOK_SECRET'), stamp, body)}",
    }
    return SignedRequest("POST", PATH, body, headers)
