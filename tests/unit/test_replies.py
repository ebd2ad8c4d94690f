"""Replies: the channel rules, the reply use case (idempotency, opt-out) and the sender's crash points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.model import identifiers, minted
from shared.model.contact import (
    Assurance,
    Channel,
    Contact,
    Content,
    DeliveryError,
    DeliveryStatus,
    Direction,
    Party,
    Provider,
    SendPolicy,
    Template,
    Thread,
)
from shared.model.delivery import (
    OUTCOME_UNKNOWN,
    Accepted,
    DeliveryReport,
    Refused,
    RetryLater,
    SendOutcome,
    SendReply,
    Unknown,
)
from shared.model.records import CaseRecord, CaseStatus
from shared.replies.commands import Replies, ReplyRequest
from shared.replies.delivery import unknown_outcome
from shared.replies.rules import ReplyRefused
from shared.replies.sending import Sender, Sent, ThrottledRetry
from tests.fakes_replies import InMemoryReplyStore, RecordingQueue, ScriptedCourier

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
CUSTOMER = "cus_01"
CASE = "case_01"
ANNA = "+14155550142"
SHOP = "+14155550100"


def inbound(
    channel: Channel, provider: Provider, *, age: timedelta = timedelta(minutes=5), **fields: object
) -> Contact:
    at = NOW - age
    sender, recipient = {
        Channel.SMS: (
            Party(identifiers=(identifiers.phone(ANNA, "US", Assurance.CHANNEL),)),
            Party(identifiers=(identifiers.phone(SHOP, "US", Assurance.CHANNEL),)),
        ),
        Channel.MESSENGER: (
            Party(identifiers=(identifiers.page_scoped(identifiers.IdentifierKind.MESSENGER, "1001", "77"),)),
            Party(handle="1001"),
        ),
        Channel.WHATSAPP: (Party(identifiers=identifiers.whatsapp("14155550142")), Party(handle="5550001")),
        Channel.EMAIL: (
            Party(identifiers=(identifiers.email("anna@example.com", Assurance.CHANNEL),)),
            Party(handle="support@example.com"),
        ),
        Channel.VOICE: (Party(identifiers=(identifiers.phone(ANNA, "US", Assurance.WEAK),)), Party()),
    }[channel]
    message_id = f"in-{channel.value}-{age.total_seconds()}"
    return Contact(
        contact_id=minted.contact_id(provider.value, message_id, at),
        channel=channel,
        provider=provider,
        direction=Direction.INBOUND,
        provider_message_id=message_id,
        occurred_at=at,
        received_at=at,
        sender=sender,
        recipient=recipient,
        customer_id=CUSTOMER,
        case_id=CASE,
        **fields,  # type: ignore[arg-type]
    )


def world(*contacts: Contact) -> tuple[InMemoryReplyStore, RecordingQueue, Replies]:
    store = InMemoryReplyStore()
    store.cases[CASE] = CaseRecord(
        case_id=CASE,
        customer_id=CUSTOMER,
        reference=minted.case_reference(CASE),
        status=CaseStatus.OPEN,
        opened_at=NOW - timedelta(days=1),
        opened_by="x",
        channel=Channel.SMS,
    )
    store.contacts.extend(contacts)
    queue = RecordingQueue()
    replies = Replies(store, lambda: queue, default_region="US", email_from="support@example.com", clock=lambda: NOW)
    return store, queue, replies


# --- the channel rules -----------------------------------------------------------------------------


def test_a_call_has_no_text_reply() -> None:
    _, queue, replies = world(inbound(Channel.VOICE, Provider.TWILIO))

    with pytest.raises(ReplyRefused) as refused:
        replies.reply(CASE, ReplyRequest(text="hi"), None)

    assert refused.value.code == "channel_not_textual"
    assert queue.sent == []


@pytest.mark.parametrize(
    ("age", "policy"),
    [(timedelta(hours=23), SendPolicy.RESPONSE), (timedelta(days=6), SendPolicy.HUMAN_AGENT)],
)
def test_messenger_answers_within_24_hours_then_as_a_human_agent_for_7_days(age: timedelta, policy: SendPolicy) -> None:
    _, _, replies = world(inbound(Channel.MESSENGER, Provider.META, age=age))

    reply = replies.reply(CASE, ReplyRequest(text="We are on it"), None)

    assert reply.delivery is not None
    assert reply.delivery.policy is policy


def test_messenger_refuses_a_reply_after_7_days() -> None:
    _, _, replies = world(inbound(Channel.MESSENGER, Provider.META, age=timedelta(days=8)))

    with pytest.raises(ReplyRefused) as refused:
        replies.reply(CASE, ReplyRequest(text="Sorry for the wait"), None)

    assert refused.value.code == "outside_messaging_window"


def test_whatsapp_outside_24_hours_needs_a_template_and_sends_one() -> None:
    _, _, replies = world(inbound(Channel.WHATSAPP, Provider.META, age=timedelta(hours=30)))

    with pytest.raises(ReplyRefused) as refused:
        replies.reply(CASE, ReplyRequest(text="Any news?"), None)
    reply = replies.reply(CASE, ReplyRequest(template=Template(name="order_update", parameters=("4417",))), None)

    assert refused.value.code == "template_required"
    assert reply.delivery is not None
    assert reply.delivery.policy is SendPolicy.TEMPLATE


def test_an_opted_out_number_gets_no_sms_until_it_opts_in_again() -> None:
    from shared.model.delivery import ConsentChange

    store, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    store.set_consent(ConsentChange(phone=ANNA, opted_out=True, at=NOW - timedelta(hours=1), reason="STOP"))

    with pytest.raises(ReplyRefused) as refused:
        replies.reply(CASE, ReplyRequest(text="Your order shipped"), None)
    store.set_consent(ConsentChange(phone=ANNA, opted_out=False, at=NOW, reason="START"))
    reply = replies.reply(CASE, ReplyRequest(text="Your order shipped"), None)

    assert refused.value.code == "recipient_opted_out"
    assert reply.channel is Channel.SMS


def test_a_reply_to_an_address_the_customer_does_not_own_is_refused() -> None:
    _, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))

    with pytest.raises(ReplyRefused) as refused:
        replies.reply(CASE, ReplyRequest(text="hi", to="+14155550199"), None)

    assert refused.value.code == "recipient_not_customer"


def test_an_email_reply_threads_on_the_customers_message_and_names_the_case() -> None:
    asked = inbound(
        Channel.EMAIL,
        Provider.SES,
        thread=Thread(message_id="abc@mail.example.com", references=("root@mail.example.com",), subject="Late order"),
    )
    store, _, replies = world(asked)

    reply = replies.reply(CASE, ReplyRequest(text="It ships today."), None)

    reference = minted.case_reference(CASE)
    assert reply.provider is Provider.SES
    assert reply.thread.in_reply_to == "abc@mail.example.com"
    assert reply.thread.references == ("root@mail.example.com", "abc@mail.example.com")
    assert reply.thread.subject == f"Re: Late order [{reference}]"
    assert reply.thread.message_id is not None
    # The customer's answer quotes our Message-ID: its thread key names this case.
    assert store.threads[f"msg#{reply.thread.message_id}"] == CASE


# --- idempotency --------------------------------------------------------------------------------------


def test_a_retried_request_with_the_same_key_answers_the_same_reply_and_sends_once() -> None:
    store, queue, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    courier = ScriptedCourier([Accepted("SM1")])
    sender = Sender(store, {"twilio": courier}, clock=lambda: NOW)

    first = replies.reply(CASE, ReplyRequest(text="On its way"), "key-1")
    sender.send(first.contact_id)
    again = replies.reply(CASE, ReplyRequest(text="On its way"), "key-1")
    for message in queue.sent:
        assert isinstance(message.work, SendReply)
        sender.send(message.work.contact_id)

    assert again.contact_id == first.contact_id
    assert len(store.replies) == 1
    assert len(courier.sends) == 1


# --- the send path and its crash points ----------------------------------------------------------------


def queued_reply(store: InMemoryReplyStore, replies: Replies) -> str:
    return replies.reply(CASE, ReplyRequest(text="We refunded you"), None).contact_id


def status(store: InMemoryReplyStore, contact_id: str) -> DeliveryStatus:
    delivery = store.replies[contact_id].contact.delivery
    assert delivery is not None
    return delivery.status


def test_a_send_is_recorded_before_and_after_the_provider_call() -> None:
    store, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    seen: list[DeliveryStatus] = []
    courier = ScriptedCourier([Accepted("SM1")])

    def look(contact: Contact, now: datetime) -> Accepted:
        seen.append(status(store, contact.contact_id))
        return Accepted("SM1")

    courier.send = look  # type: ignore[method-assign]
    contact_id = queued_reply(store, replies)

    Sender(store, {"twilio": courier}, clock=lambda: NOW).send(contact_id)

    assert seen == [DeliveryStatus.SENDING]
    assert status(store, contact_id) is DeliveryStatus.SENT
    assert store.find_reply("twilio", "SM1") == contact_id


def test_a_crash_during_the_provider_call_is_never_sent_again_and_says_so() -> None:
    # Given a sender that dies while the provider call is under way (the call may have gone out)
    store, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    contact_id = queued_reply(store, replies)
    dying = ScriptedCourier([], crash=TimeoutError("Lambda timed out"))
    with pytest.raises(TimeoutError):
        Sender(store, {"twilio": dying}, clock=lambda: NOW).send(contact_id)

    # When SQS delivers the message again
    courier = ScriptedCourier([Accepted("SM2")])
    outcome = Sender(store, {"twilio": courier}, clock=lambda: NOW).send(contact_id)

    # Then the provider is not called a second time, and the reply says why it failed
    assert outcome is Sent.UNKNOWN
    assert courier.sends == []
    delivery = store.replies[contact_id].contact.delivery
    assert delivery is not None
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.error is not None
    assert delivery.error.code == OUTCOME_UNKNOWN


def test_a_crash_after_the_provider_took_it_is_corrected_by_its_status_callback() -> None:
    # Given a sender that dies after Twilio accepted the message, before it recorded `sent`
    store, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    contact_id = queued_reply(store, replies)
    writes = 0

    def die_on_second_write(contact: Contact) -> None:
        nonlocal writes
        writes += 1
        if writes == 2:
            raise ConnectionError("crash")

    store.fail_put = die_on_second_write
    courier = ScriptedCourier([Accepted("SM3")])
    with pytest.raises(ConnectionError):
        Sender(store, {"twilio": courier}, clock=lambda: NOW).send(contact_id)
    store.fail_put = None

    # When the message is redelivered, then Twilio's status callback (which names the reply) arrives
    sender = Sender(store, {"twilio": courier}, clock=lambda: NOW)
    redelivered = sender.send(contact_id)
    report = DeliveryReport(
        provider=Provider.TWILIO,
        provider_message_id="SM3",
        contact_id=contact_id,
        status=DeliveryStatus.DELIVERED,
        occurred_at=NOW,
    )
    sender.apply_report(report)

    # Then it was sent once, and the reply ends delivered with the provider's id
    assert redelivered is Sent.UNKNOWN
    assert len(courier.sends) == 1
    delivery = store.replies[contact_id].contact.delivery
    assert delivery is not None
    assert (delivery.status, delivery.provider_message_id, delivery.error) == (DeliveryStatus.DELIVERED, "SM3", None)


def test_a_throttled_send_is_retried_after_retry_after_and_sent_once() -> None:
    store, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    contact_id = queued_reply(store, replies)
    courier = ScriptedCourier([RetryLater("HTTP 429", 7), Accepted("SM4")])
    sender = Sender(store, {"twilio": courier}, clock=lambda: NOW)

    with pytest.raises(ThrottledRetry) as retry:
        sender.send(contact_id)
    queued_again = status(store, contact_id)
    outcome = sender.send(contact_id)

    assert retry.value.after_s == 7
    assert queued_again is DeliveryStatus.QUEUED
    assert outcome is Sent.SENT
    assert len(courier.sends) == 2  # the 429 was not a send
    assert store.replies[contact_id].contact.delivery.attempts == 2  # type: ignore[union-attr]


def test_twilio_21610_fails_the_reply_and_opts_the_number_out() -> None:
    store, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    contact_id = queued_reply(store, replies)
    refused = Refused(DeliveryError(code="21610", message="Attempt to send to unsubscribed recipient"), opted_out=True)

    Sender(store, {"twilio": ScriptedCourier([refused])}, clock=lambda: NOW).send(contact_id)

    assert status(store, contact_id) is DeliveryStatus.FAILED
    assert store.opted_out(ANNA)
    with pytest.raises(ReplyRefused):
        replies.reply(CASE, ReplyRequest(text="again"), None)


def test_no_answer_from_the_provider_is_an_unknown_outcome_not_a_retry() -> None:
    store, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    contact_id = queued_reply(store, replies)

    outcome = Sender(store, {"twilio": ScriptedCourier([Unknown("timeout")])}, clock=lambda: NOW).send(contact_id)

    assert outcome is Sent.UNKNOWN
    assert status(store, contact_id) is DeliveryStatus.FAILED


def test_reports_only_move_a_delivery_forward() -> None:
    store, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    contact_id = queued_reply(store, replies)
    sender = Sender(store, {"twilio": ScriptedCourier([Accepted("SM5")])}, clock=lambda: NOW)
    sender.send(contact_id)

    def report(status: DeliveryStatus) -> DeliveryReport:
        return DeliveryReport(provider=Provider.TWILIO, provider_message_id="SM5", status=status, occurred_at=NOW)

    delivered = sender.apply_report(report(DeliveryStatus.DELIVERED))
    late_sent = sender.apply_report(report(DeliveryStatus.SENT))
    late_failure = sender.apply_report(report(DeliveryStatus.FAILED))

    assert (delivered.changed, late_sent.changed, late_failure.changed) == (True, False, False)
    assert status(store, contact_id) is DeliveryStatus.DELIVERED


def test_a_report_for_a_message_that_is_not_ours_is_dropped_not_retried() -> None:
    # Statuses of messages an agent sent from Meta's inbox reach the same webhook: they must not fill the DLQ.
    store, _, _ = world()
    sender = Sender(store, {}, clock=lambda: NOW)
    report = DeliveryReport(
        provider=Provider.META, provider_message_id="m_1", status=DeliveryStatus.READ, occurred_at=NOW
    )

    applied = sender.apply_report(report)

    assert (applied.contact_id, applied.changed) == (None, False)


def test_message_text_is_never_in_a_refusal() -> None:
    _, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    secret = "my card is 4111 1111 1111 1111" * 100

    with pytest.raises(ReplyRefused) as refused:
        replies.reply(CASE, ReplyRequest(text=secret), None)

    assert refused.value.code == "text_too_long"
    assert "4111" not in refused.value.message


def test_content_is_kept_on_the_outbound_contact() -> None:
    _, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))

    reply = replies.reply(CASE, ReplyRequest(text="Tracking: 1Z999"), None)

    assert reply.content == Content(text="Tracking: 1Z999")
    assert (reply.direction, reply.case_id, reply.customer_id) == (Direction.OUTBOUND, CASE, CUSTOMER)
    assert reply.sender.primary is not None
    assert reply.sender.primary.value == SHOP


# --- events -------------------------------------------------------------------------------------------


def test_a_replys_delivery_yields_sent_delivered_once_and_failed() -> None:
    from shared.events.derivation import derive_events
    from shared.model.delivery import DeliveryReport as Report
    from shared.model.records import StoredChange, StoredKind
    from shared.replies.delivery import reported

    _, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    queued = replies.reply(CASE, ReplyRequest(text="Shipped"), None)

    def step(contact: Contact, status: DeliveryStatus, error: DeliveryError | None = None) -> Contact:
        report = Report(
            provider=Provider.TWILIO, contact_id=contact.contact_id, status=status, error=error, occurred_at=NOW
        )
        after = reported(contact, report)
        assert after is not None
        return after

    def types(before: Contact | None, after: Contact) -> list[str]:
        change = StoredChange("id-1", NOW, StoredKind.CONTACT, before, after)
        return [event.type.value for event in derive_events(change)]

    sent = step(queued, DeliveryStatus.SENT)
    delivered = step(sent, DeliveryStatus.DELIVERED)
    read = step(delivered, DeliveryStatus.READ)
    failed = step(sent, DeliveryStatus.FAILED, DeliveryError(code="30003", message="Unreachable handset"))

    assert types(None, queued) == ["contact.received"]
    assert types(queued, sent) == ["contact.updated", "reply.sent"]
    assert types(sent, delivered) == ["contact.updated", "reply.delivered"]
    assert types(delivered, read) == ["contact.updated"]
    assert types(sent, failed) == ["contact.updated", "reply.failed"]


def test_a_complaint_is_said_on_a_delivered_reply_which_stays_delivered() -> None:
    from shared.model.delivery import COMPLAINT
    from shared.replies.delivery import reported

    _, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    queued = replies.reply(CASE, ReplyRequest(text="Shipped"), None)

    def report(status: DeliveryStatus, error: DeliveryError | None = None) -> DeliveryReport:
        return DeliveryReport(
            provider=Provider.SES, contact_id=queued.contact_id, status=status, error=error, occurred_at=NOW
        )

    delivered = reported(queued, report(DeliveryStatus.DELIVERED))
    assert delivered is not None
    complained = reported(delivered, report(DeliveryStatus.FAILED, DeliveryError(code=COMPLAINT, message="spam")))

    assert complained is not None
    assert complained.delivery is not None
    assert complained.delivery.status is DeliveryStatus.DELIVERED
    assert complained.delivery.error is not None
    assert complained.delivery.error.code == COMPLAINT
    assert reported(complained, report(DeliveryStatus.FAILED, DeliveryError(code=COMPLAINT, message="spam"))) is None


def test_attachments_go_out_only_where_a_courier_sends_media() -> None:
    _, _, twilio = world(inbound(Channel.SMS, Provider.TWILIO))
    _, _, meta = world(inbound(Channel.WHATSAPP, Provider.META))
    media = ["https://cdn.example.com/label.png"]

    mms = twilio.reply(CASE, ReplyRequest(text="Your label", attachments=media), None)
    with pytest.raises(ReplyRefused) as refused:
        meta.reply(CASE, ReplyRequest(text="Your label", attachments=media), None)

    assert mms.channel is Channel.MMS
    assert [a.url for a in mms.content.attachments] == media
    assert refused.value.code == "attachments_not_supported"


def test_a_provider_without_a_courier_fails_before_the_reply_is_marked_sending() -> None:
    store, _, replies = world(inbound(Channel.SMS, Provider.TWILIO))
    contact_id = queued_reply(store, replies)

    with pytest.raises(LookupError):
        Sender(store, {}, clock=lambda: NOW).send(contact_id)

    assert status(store, contact_id) is DeliveryStatus.QUEUED  # the redelivery may still send it


# --- a crash at every call of the reply's whole path ----------------------------------------------------


class Crash(Exception):
    """The function dies here (Lambda timeout, out of memory, a lost connection)."""


@dataclass
class CrashPlan:
    """Crashes once, at call number `at`: before the call reaches its target, or after the target applied it."""

    at: int | None = None
    applied: bool = False
    calls: list[str] = field(default_factory=list)

    def run(self, name: str, call: Callable[[], Any]) -> Any:
        index = len(self.calls)
        self.calls.append(name)
        if index == self.at and not self.applied:
            raise Crash(name)
        result = call()
        if index == self.at:
            raise Crash(name)
        return result


class Crashing:
    """Routes every method call of `target` (the store, the queue, the courier) through the plan."""

    def __init__(self, target: object, plan: CrashPlan, name: str) -> None:
        self._target, self._plan, self._name = target, plan, name

    def __getattr__(self, attribute: str) -> Any:
        method = getattr(self._target, attribute)
        return lambda *args, **kwargs: self._plan.run(f"{self._name}.{attribute}", lambda: method(*args, **kwargs))


def until_done(step: Callable[[], Any]) -> Any:
    """The retry that heals a crash: the API client's retry with its key, SQS's redelivery, the provider's."""
    for _ in range(3):
        try:
            return step()
        except Crash:
            continue
    raise AssertionError("a crash was not healed by one retry")


@dataclass
class ReplyPathResult:
    reply_ids: set[str]
    sends: int
    stored: Contact
    marker: str | None
    calls: list[str]


# Twilio takes the message and answers, or takes it and its answer is lost (then only its report names the id)
ANSWERS: dict[str, SendOutcome] = {"answered": Accepted("SM9"), "answer_lost": Unknown("no answer in 10 s")}


def run_reply_path(plan: CrashPlan, answer: str) -> ReplyPathResult:
    """An agent's reply with an Idempotency-Key, the sender taking every queued message, Twilio's report."""
    store, queue, _ = world(inbound(Channel.SMS, Provider.TWILIO))
    courier = ScriptedCourier([ANSWERS[answer], Accepted("SM10")])
    crashing_store: Any = Crashing(store, plan, "store")
    replies = Replies(
        crashing_store,
        lambda: Crashing(queue, plan, "queue"),  # type: ignore[arg-type, return-value]
        default_region="US",
        email_from="support@example.com",
        clock=lambda: NOW,
    )
    sender = Sender(crashing_store, {"twilio": Crashing(courier, plan, "courier")}, clock=lambda: NOW)  # type: ignore[dict-item]

    reply_ids = {until_done(lambda: replies.reply(CASE, ReplyRequest(text="Refunded"), "key-1")).contact_id}
    for message in list(queue.sent):
        assert isinstance(message.work, SendReply)
        until_done(lambda work=message.work: sender.send(work.contact_id))  # type: ignore[misc]
        reply_ids.add(message.work.contact_id)
    for sent in courier.sends:  # Twilio's StatusCallback names the reply (?reply=<contact id>)
        report = DeliveryReport(
            provider=Provider.TWILIO,
            provider_message_id="SM9",
            contact_id=sent.contact_id,
            status=DeliveryStatus.DELIVERED,
            occurred_at=NOW,
        )
        until_done(lambda report=report: sender.apply_report(report))  # type: ignore[misc]
    (only,) = store.replies.values()
    return ReplyPathResult(reply_ids, len(courier.sends), only.contact, store.find_reply("twilio", "SM9"), plan.calls)


FAULT_FREE = {answer: run_reply_path(CrashPlan(), answer) for answer in ANSWERS}
CRASH_POINTS = [
    pytest.param(answer, at, applied, id=f"{answer}-{at}-{call}-{'applied' if applied else 'before'}")
    for answer, result in FAULT_FREE.items()
    for at, call in enumerate(result.calls)
    for applied in (False, True)
]


@pytest.mark.parametrize(("answer", "at", "applied"), CRASH_POINTS)
def test_a_crash_at_any_call_of_the_reply_path_never_sends_twice_and_ends_as_without_it_or_says_so(
    answer: str, at: int, applied: bool
) -> None:
    fault_free = FAULT_FREE[answer]

    result = run_reply_path(CrashPlan(at=at, applied=applied), answer)

    # One reply, whichever retry answered; it never reached the customer twice
    assert len(result.reply_ids) == 1
    assert result.stored.contact_id in result.reply_ids
    assert result.sends <= 1
    assert result.stored.delivery is not None
    if result.sends == 1:
        # Sent once: the same end as without the crash, the provider's id finding the reply
        assert result.stored == fault_free.stored
        assert result.marker == result.stored.contact_id
    else:
        # Not sent: only when the crash left `sending` behind without the provider having taken it, and said so
        assert fault_free.calls[at] in {"store.put_reply", "courier.send"}
        assert (result.stored.delivery.status, result.stored.delivery.error) == (
            DeliveryStatus.FAILED,
            unknown_outcome("an earlier attempt stopped after it began"),
        )


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_fault_free_reply_path_sends_once_and_ends_delivered_found_by_its_id(answer: str) -> None:
    fault_free = FAULT_FREE[answer]

    assert fault_free.sends == 1
    assert fault_free.stored.delivery is not None
    assert (fault_free.stored.delivery.status, fault_free.stored.delivery.provider_message_id) == (
        DeliveryStatus.DELIVERED,
        "SM9",
    )
    assert fault_free.marker == fault_free.stored.contact_id
