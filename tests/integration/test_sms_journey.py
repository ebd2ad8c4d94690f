"""Twilio SMS through the real local HTTP stack: webhook → queue → processor → table → /v1."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.stack import LocalStack, unique_phone, unique_sid

pytestmark = pytest.mark.integration


def test_two_sms_from_one_number_make_one_customer_with_one_case(stack: LocalStack) -> None:
    phone = unique_phone()
    for text in ("My parcel has not arrived.", "It was due on Tuesday."):
        assert stack.send(stack.sample("twilio-sms", sender=phone, text=text)).status == 200
    stack.wait_idle()

    customer = stack.customer_of(phone)
    assert customer is not None
    cases = stack.all_items(f"/v1/customers/{customer['customer_id']}/cases")
    assert len(cases) == 1
    contacts = stack.all_items(f"/v1/cases/{cases[0]['case_id']}", key="contacts")
    assert sorted(contact["content"]["text"] for contact in contacts) == [
        "It was due on Tuesday.",
        "My parcel has not arrived.",
    ]
    assert {contact["customer_id"] for contact in contacts} == {customer["customer_id"]}


def test_same_message_sid_posted_three_times_in_parallel_stores_one_contact(stack: LocalStack) -> None:
    phone, sid = unique_phone(), unique_sid()
    signed = stack.sample("twilio-sms", sender=phone, message_id=sid)
    with ThreadPoolExecutor(max_workers=3) as pool:
        statuses = list(pool.map(lambda _: stack.send(signed).status, range(3)))
    assert statuses == [200, 200, 200]  # Twilio must not retry: each delivery is acknowledged
    stack.wait_idle()

    found = stack.api_get("/v1/contacts", provider="twilio", provider_message_id=sid)
    assert found.status == 200
    assert len(found.json()["items"]) == 1
    customer = stack.customer_of(phone)
    assert customer is not None
    assert len(stack.all_items(f"/v1/customers/{customer['customer_id']}/timeline")) == 1


def test_bad_signature_is_refused_with_403_and_nothing_is_stored(stack: LocalStack) -> None:
    phone, sid = unique_phone(), unique_sid()
    signed = stack.sample("twilio-sms", sender=phone, message_id=sid)
    forged = {**signed.headers, "X-Twilio-Signature": "bm90IHRoZSBzaWduYXR1cmU="}

    response = stack.post(signed.path, signed.body, forged)

    assert response.status == 403
    assert response.json()["error"]["code"]
    stack.wait_idle()
    assert stack.api_get("/v1/contacts", provider="twilio", provider_message_id=sid).json()["items"] == []
    assert stack.customer_of(phone) is None


def test_timeline_cursor_pagination_walks_every_contact_once(stack: LocalStack) -> None:
    phone = unique_phone()
    sids = [unique_sid() for _ in range(5)]
    for index, sid in enumerate(sids):
        assert (
            stack.send(stack.sample("twilio-sms", sender=phone, message_id=sid, text=f"message {index}")).status == 200
        )
    stack.wait_idle()
    customer = stack.customer_of(phone)
    assert customer is not None

    pages = []
    cursor = None
    while True:
        page = stack.api_get(f"/v1/customers/{customer['customer_id']}/timeline", limit=2, cursor=cursor).json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    walked = [contact["provider_message_id"] for page in pages for contact in page]
    assert sorted(walked) == sorted(sids)  # each once: no repeats, none skipped
    assert [len(page) for page in pages] == [2, 2, 1]


def test_a_burst_of_webhooks_is_accepted_whole(stack: LocalStack) -> None:
    # A provider replaying an outage: 120 webhooks, 40 at a time, each on its own connection.
    # Python's default listen backlog (5) reset some of them; API Gateway queues them all.
    sids = [unique_sid() for _ in range(120)]
    signed = [stack.sample("twilio-sms", sender=unique_phone(), message_id=sid) for sid in sids]
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(lambda request: stack.send(request).status, signed))

    assert statuses == [200] * len(signed)
    stack.wait_idle(timeout=120)
    for sid in sids[::12]:
        assert len(stack.api_get("/v1/contacts", provider="twilio", provider_message_id=sid).json()["items"]) == 1
