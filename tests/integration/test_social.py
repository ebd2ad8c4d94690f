"""Messenger, WhatsApp and X through the real local HTTP stack: webhook → queue → processor → table → /v1."""

from __future__ import annotations

import secrets
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from infra import topology
from infra.local.samples import SignedRequest
from shared.model.contact import Visibility
from tests.integration.stack import LocalStack, unique_phone

pytestmark = pytest.mark.integration


def unique_psid() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def unique_x_user() -> str:
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def stored(stack: LocalStack, provider: str, message_id: str) -> list[dict[str, Any]]:
    found = stack.api_get("/v1/contacts", provider=provider, provider_message_id=message_id)
    assert found.status == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


def sent(stack: LocalStack, signed: SignedRequest) -> None:
    response = stack.send(signed)
    assert response.status == 200, response.text


def test_messenger_then_whatsapp_then_sms_from_that_number_links_whatsapp_and_sms(stack: LocalStack) -> None:
    phone = unique_phone()
    messenger_mid, whatsapp_id, sms_sid = "m_" + uuid.uuid4().hex, "wamid." + uuid.uuid4().hex, "SM" + uuid.uuid4().hex
    sent(stack, stack.sample("meta-messenger", sender=unique_psid(), message_id=messenger_mid, text="Order late"))
    sent(stack, stack.sample("meta-whatsapp", sender=phone, message_id=whatsapp_id, text="Any news?"))
    sent(stack, stack.sample("twilio-sms", sender=phone, message_id=sms_sid, text="Still waiting"))
    stack.wait_idle()

    [messenger] = stored(stack, "meta", messenger_mid)
    [whatsapp] = stored(stack, "meta", whatsapp_id)
    [sms] = stored(stack, "twilio", sms_sid)
    assert whatsapp["customer_id"] is not None
    assert sms["customer_id"] == whatsapp["customer_id"]
    customer = stack.customer_of(phone)
    assert customer is not None
    assert customer["customer_id"] == whatsapp["customer_id"]
    # A page-scoped id says nothing about a phone number: Messenger alone is a customer of its own.
    assert messenger["customer_id"] not in (None, whatsapp["customer_id"])


def test_an_echo_never_opens_a_case(stack: LocalStack) -> None:
    lonely, answered = unique_psid(), unique_psid()
    lonely_echo, question, answer = ("m_" + uuid.uuid4().hex for _ in range(3))
    sent(stack, stack.sample("meta-messenger", sender=lonely, kind="echo", message_id=lonely_echo))
    sent(stack, stack.sample("meta-messenger", sender=answered, message_id=question))
    stack.wait_idle()
    sent(stack, stack.sample("meta-messenger", sender=answered, kind="echo", message_id=answer))
    stack.wait_idle()

    [echo] = stored(stack, "meta", lonely_echo)
    assert echo["direction"] == "outbound"
    assert echo["case_id"] is None
    [asked], [replied] = stored(stack, "meta", question), stored(stack, "meta", answer)
    assert replied["case_id"] == asked["case_id"] is not None  # it joins the case the customer opened


def test_a_replayed_delivery_stores_one_contact(stack: LocalStack) -> None:
    message_id = "wamid." + uuid.uuid4().hex
    signed = stack.sample("meta-whatsapp", sender=unique_phone(), message_id=message_id)
    for _ in range(3):
        sent(stack, signed)
    stack.wait_idle()

    assert len(stored(stack, "meta", message_id)) == 1


def test_a_wrong_signature_is_403_and_nothing_is_stored(stack: LocalStack) -> None:
    message_id = "m_" + uuid.uuid4().hex
    signed = stack.sample("meta-messenger", sender=unique_psid(), message_id=message_id)
    forged = {**signed.headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}

    response = stack.post(signed.path, signed.body, forged)

    assert response.status == 403
    stack.wait_idle()
    assert stored(stack, "meta", message_id) == []


def test_meta_hub_challenge_and_x_crc_answer_through_the_stack(stack: LocalStack) -> None:
    handshake = {
        "hub.mode": "subscribe",
        "hub.verify_token": topology.META_VERIFY_TOKEN.local_default,
        "hub.challenge": "1158201444",
    }
    meta = stack.client.request("GET", "/webhooks/meta", query=urlencode(handshake))
    assert (meta.status, meta.text) == (200, "1158201444")

    crc = stack.client.request("GET", "/webhooks/x", query=urlencode({"crc_token": "challenge-token"}))
    assert crc.status == 200
    assert crc.json()["response_token"].startswith("sha256=")


def test_x_dm_and_public_mention_of_one_user_are_one_customer(stack: LocalStack) -> None:
    user, dm_id, mention_id = (
        unique_x_user(),
        str(10**18 + secrets.randbelow(10**17)),
        str(10**18 + secrets.randbelow(10**17)),
    )
    sent(stack, stack.sample("x-dm", sender=user, message_id=dm_id))
    sent(stack, stack.sample("x-mention", sender=user, message_id=mention_id))
    stack.wait_idle()

    [dm], [mention] = stored(stack, "x", dm_id), stored(stack, "x", mention_id)
    assert dm["customer_id"] == mention["customer_id"] is not None
    assert (dm["content"]["visibility"], mention["content"]["visibility"]) == (
        Visibility.PRIVATE.value,
        Visibility.PUBLIC.value,
    )
    customers = stack.api_get("/v1/customers", identifier=f"x:{user}")
    assert [c["customer_id"] for c in customers.json()["items"]] == [dm["customer_id"]]
