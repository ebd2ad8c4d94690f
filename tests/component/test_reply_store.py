"""The replies' DynamoDB adapter on moto: the whole flow from the processor's contact to a delivered reply,
its look-up keys, SMS consent, and erasure of what a reply left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.model.contact import DeliveryStatus, Provider
from shared.model.delivery import Accepted, ConsentChange, DeliveryReport
from shared.replies.commands import ReplyRequest
from shared.replies.sending import Sender
from shared.wiring import get_admin_store, get_contact_processor, get_replies, get_reply_store
from tests.builders import sms_contact
from tests.conftest import Account
from tests.fakes_replies import ScriptedCourier

PHONE = "+14155550177"


def test_a_reply_lives_and_dies_with_its_customer(aws: Account) -> None:
    # Given a customer's SMS, stored by the processor
    now = datetime.now(UTC)
    inbound = sms_contact("SMin1", PHONE, at=now - timedelta(minutes=2), text="Where is it?")
    get_contact_processor().process(inbound)
    store = get_reply_store()
    stored_inbound = store.get_contact(inbound.contact_id)
    assert stored_inbound is not None
    case_id = stored_inbound.case_id
    assert case_id is not None
    assert store.latest_inbound(case_id, None) == stored_inbound

    # When an agent replies (twice with one key) and the sender sends it
    reply = get_replies().reply(case_id, ReplyRequest(text="Today."), "key-1")
    again = get_replies().reply(case_id, ReplyRequest(text="Today."), "key-1")
    courier = ScriptedCourier([Accepted("SMout1")])
    Sender(store, {"twilio": courier}).send(reply.contact_id)
    Sender(store, {"twilio": courier}).apply_report(
        DeliveryReport(
            provider=Provider.TWILIO, provider_message_id="SMout1", status=DeliveryStatus.DELIVERED, occurred_at=now
        )
    )

    # Then one reply, on the case's timeline, found by the provider's id, delivered
    assert again.contact_id == reply.contact_id
    assert len(courier.sends) == 1
    assert store.find_reply("twilio", "SMout1") == reply.contact_id
    stored = store.get_reply(reply.contact_id)
    assert stored is not None
    assert stored.contact.delivery is not None
    assert (stored.version, stored.contact.delivery.status) == (4, DeliveryStatus.DELIVERED)
    contacts, _ = get_admin_store().case_contacts(case_id, limit=10, cursor=None)
    assert [c.contact_id for c in contacts] == [reply.contact_id, inbound.contact_id]

    # And erasing the customer takes the reply and its look-up keys with it
    assert reply.customer_id is not None
    get_admin_store().erase_customer(reply.customer_id, datetime.now(UTC))
    assert store.get_reply(reply.contact_id) is None
    assert store.find_reply("twilio", "SMout1") is None


def test_the_latest_consent_change_of_a_number_wins(aws: Account) -> None:
    store = get_reply_store()
    now = datetime.now(UTC)

    store.set_consent(ConsentChange(phone=PHONE, opted_out=True, at=now, reason="STOP"))
    store.set_consent(ConsentChange(phone=PHONE, opted_out=False, at=now - timedelta(minutes=1), reason="START"))
    stays_out = store.opted_out(PHONE)
    store.set_consent(ConsentChange(phone=PHONE, opted_out=False, at=now + timedelta(minutes=1), reason="START"))

    assert stays_out
    assert not store.opted_out(PHONE)
