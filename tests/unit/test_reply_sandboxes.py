"""The provider sandboxes take our replies as the providers would and call our webhooks back, signed (no sockets)."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from infra.local.sandbox import RecordedWebhooks, SandboxContext
from infra.local.sandbox.meta import MetaSandbox
from infra.local.sandbox.twilio import TwilioSandbox
from infra.topology import local_secret
from shared.channels import meta, twilio, twilio_status
from shared.ingest.request import WebhookRequest
from shared.model import identifiers
from shared.model.contact import (
    Channel,
    Contact,
    Content,
    Delivery,
    DeliveryStatus,
    IdentifierKind,
    Party,
    Provider,
    SendPolicy,
)
from shared.model.delivery import Accepted, Refused, RetryLater
from shared.replies.couriers import RestCourier
from shared.replies.providers.meta import MetaMessages, page_tokens
from shared.replies.providers.twilio import TwilioMessages
from tests.fakes_replies import REPLY_TIME, outbound, phone_party
from tests.fakes_x import SandboxTransport

NOW = REPLY_TIME
STACK = "http://127.0.0.1:8080"


def reply(channel: Channel, provider: Provider, sender: Party, recipient: Party) -> Contact:
    delivery = Delivery(status=DeliveryStatus.SENDING, updated_at=NOW, policy=SendPolicy.RESPONSE)
    return outbound(channel, provider, sender, recipient, delivery=delivery)


def posted_request(webhook: tuple[str, list[tuple[str, str]], bytes]) -> WebhookRequest:
    """A sandbox's callback as our webhook reads it (the stack's public URL is the one Twilio signed)."""
    url, headers, body = webhook
    parts = urlsplit(url if "://" in url else STACK + url)
    return WebhookRequest(
        method="POST",
        path=parts.path,
        raw_query=parts.query,
        headers={name.lower(): value for name, value in headers},
        query=dict(pair.split("=", 1) for pair in parts.query.split("&") if pair),
        body=body,
        public_url=STACK + parts.path + (f"?{parts.query}" if parts.query else ""),
    )


@pytest.fixture
def webhooks() -> RecordedWebhooks:
    return RecordedWebhooks()


# --- Twilio ------------------------------------------------------------------------------------------


def twilio_courier(sandbox: TwilioSandbox, *, token: str | None = None) -> RestCourier:
    messages = TwilioMessages(
        f"{STACK}/_sandbox/twilio",
        lambda: local_secret("TWILIO_ACCOUNT_SID"),
        lambda: token or local_secret("TWILIO_AUTH_TOKEN"),
        STACK,
    )
    return RestCourier(messages, SandboxTransport(sandbox, "/_sandbox/twilio"))


def sms_reply() -> Contact:
    return reply(Channel.SMS, Provider.TWILIO, phone_party("+14155550100"), phone_party("+14155550142"))


def whatsapp_reply() -> Contact:
    customer = Party(identifiers=identifiers.whatsapp("14155550142"))
    return reply(Channel.WHATSAPP, Provider.META, Party(handle="106540352242922"), customer)


def test_twilio_takes_a_message_then_calls_back_sent_and_delivered_signed(webhooks: RecordedWebhooks) -> None:
    sandbox = TwilioSandbox(SandboxContext(clock=lambda: NOW, webhooks=webhooks))
    contact = sms_reply()

    outcome = twilio_courier(sandbox).send(contact, NOW)

    assert isinstance(outcome, Accepted)
    assert outcome.provider_message_id.startswith("SM")
    reports = []
    for webhook in webhooks.posted:
        request = posted_request(webhook)
        twilio.verify(request, local_secret("TWILIO_AUTH_TOKEN"))  # raises on a bad signature
        reports.append(twilio_status.parse(request))
    assert [(r.status, r.contact_id, r.provider_message_id) for r in reports if r] == [
        (DeliveryStatus.SENT, contact.contact_id, outcome.provider_message_id),
        (DeliveryStatus.DELIVERED, contact.contact_id, outcome.provider_message_id),
    ]


def test_twilio_refuses_an_unsubscribed_number_with_21610_and_a_wrong_token_with_20003(
    webhooks: RecordedWebhooks,
) -> None:
    sandbox = TwilioSandbox(SandboxContext(clock=lambda: NOW, webhooks=webhooks))
    sandbox.unsubscribed.add("+14155550142")

    unsubscribed = twilio_courier(sandbox).send(sms_reply(), NOW)
    unauthenticated = twilio_courier(sandbox, token="wrong").send(sms_reply(), NOW)

    assert isinstance(unsubscribed, Refused)
    assert unsubscribed.opted_out
    assert isinstance(unauthenticated, Refused)
    assert unauthenticated.error.code == "20003"
    assert webhooks.posted == []


def test_twilio_throttles_with_429_and_retry_after(webhooks: RecordedWebhooks) -> None:
    sandbox = TwilioSandbox(SandboxContext(clock=lambda: NOW, webhooks=webhooks))
    sandbox.forced.status, sandbox.forced.count, sandbox.forced.retry_after = 429, 1, 3

    first = twilio_courier(sandbox).send(sms_reply(), NOW)
    second = twilio_courier(sandbox).send(sms_reply(), NOW)

    assert first == RetryLater("HTTP 429 from the provider", 3)
    assert isinstance(second, Accepted)


# --- Meta --------------------------------------------------------------------------------------------


def meta_courier(sandbox: MetaSandbox) -> RestCourier:
    messages = MetaMessages(
        f"{STACK}/_sandbox/meta",
        "v21.0",
        lambda: page_tokens(local_secret("META_PAGE_TOKENS")),
        lambda: local_secret("WHATSAPP_ACCESS_TOKEN"),
    )
    return RestCourier(messages, SandboxTransport(sandbox, "/_sandbox/meta"))


def meta_reports(webhooks: RecordedWebhooks) -> list[tuple[DeliveryStatus, str | None]]:
    found = []
    for webhook in webhooks.posted:
        request = posted_request(webhook)
        meta.verify(request, local_secret("META_APP_SECRET"))
        batch = meta.parse(request)
        assert batch.contacts == []  # our own echo is not a second contact
        found += [(report.status, report.contact_id) for report in batch.reports]
    return found


def test_whatsapp_takes_a_message_and_reports_its_statuses_with_our_correlation(webhooks: RecordedWebhooks) -> None:
    sandbox = MetaSandbox(SandboxContext(clock=lambda: NOW, webhooks=webhooks))
    contact = whatsapp_reply()

    outcome = meta_courier(sandbox).send(contact, NOW)

    assert isinstance(outcome, Accepted)
    assert outcome.provider_message_id.startswith("wamid.")
    assert meta_reports(webhooks) == [
        (DeliveryStatus.SENT, contact.contact_id),
        (DeliveryStatus.DELIVERED, contact.contact_id),
    ]


def test_whatsapp_refuses_free_text_once_the_window_closed(webhooks: RecordedWebhooks) -> None:
    sandbox = MetaSandbox(SandboxContext(clock=lambda: NOW, webhooks=webhooks))
    sandbox.closed_windows.add("14155550142")

    outcome = meta_courier(sandbox).send(whatsapp_reply(), NOW)

    assert isinstance(outcome, Refused)
    assert outcome.error.code == "131047"


def test_messenger_echoes_our_reply_and_reports_its_delivery(webhooks: RecordedWebhooks) -> None:
    sandbox = MetaSandbox(SandboxContext(clock=lambda: NOW, webhooks=webhooks))
    customer = Party(
        identifiers=(identifiers.page_scoped(IdentifierKind.MESSENGER, "104918573726198", "6745183492837465"),)
    )
    contact = reply(Channel.MESSENGER, Provider.META, Party(handle="104918573726198"), customer)

    outcome = meta_courier(sandbox).send(contact, NOW)

    assert isinstance(outcome, Accepted)
    assert meta_reports(webhooks) == [(DeliveryStatus.SENT, contact.contact_id), (DeliveryStatus.DELIVERED, None)]
    (sent,) = sandbox.outbox()
    assert json.dumps(sent)  # what `threadline outbox` prints
    assert sent["to"] == "6745183492837465"


# --- X -----------------------------------------------------------------------------------------------


class SandboxTokens:
    """The support account's token as the poller would hold it: a refresh of the sandbox's starting grant."""

    def __init__(self, transport: SandboxTransport) -> None:
        from infra.local.sandbox.x_state import CLIENT_ID
        from shared.adapters.x_api import XApiClient

        client = XApiClient("http://127.0.0.1/_sandbox/x", transport)
        refresh = local_secret("X_OAUTH2_TOKENS")
        self.token = client.refresh(CLIENT_ID, local_secret("X_OAUTH2_CLIENT_SECRET"), refresh).access_token

    def current(self, now: datetime) -> str:
        return self.token

    def after_unauthorized(self, rejected: str, now: datetime) -> str:
        return self.token


def test_x_takes_a_dm_and_a_public_reply_to_a_post_it_knows() -> None:
    from infra.local.sandbox.x_state import CUSTOMER_ID
    from shared.model.contact import Thread, Visibility
    from shared.replies.providers.x import XMessages
    from tests.fakes_x import Clock, x_sandbox

    sandbox = x_sandbox(Clock(NOW))
    transport = SandboxTransport(sandbox)
    courier = RestCourier(XMessages("http://127.0.0.1/_sandbox/x", SandboxTokens(transport)), transport)
    mention = sandbox.world.add_post(CUSTOMER_ID, "@ExampleShopHelp where is my order?")
    customer = Party(identifiers=(identifiers.x_user(CUSTOMER_ID),))
    dm = reply(Channel.X, Provider.X, Party(), customer)
    public = dm.model_copy(
        update={
            "content": Content(text="We sent you a DM", visibility=Visibility.PUBLIC),
            "thread": Thread(in_reply_to=mention.id),
        }
    )
    unknown_post = public.model_copy(update={"thread": Thread(in_reply_to="1")})

    sent_dm, sent_post, refused = (courier.send(c, NOW) for c in (dm, public, unknown_post))

    assert isinstance(sent_dm, Accepted)
    assert isinstance(sent_post, Accepted)
    assert isinstance(refused, Refused)
    assert refused.error.code == "x_403"
    assert [(m["kind"], m["to"]) for m in sandbox.outbox()] == [("dm", CUSTOMER_ID), ("post", CUSTOMER_ID)]
