"""A scripted workload that touches every kind of contact and every operation the table knows.

Contacts are built the way the parsers build them (calls through the real Twilio
Voice parser); operations go through the /v1 use cases and the merge use case.
Everything is deterministic (ids derive from provider ids and times, clocks are
fixed per step), so two runs of the same steps in the same order store the same
table, item for item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.api.commands import Commands
from shared.api.models import AttachIdentifierRequest, MergeRequest
from shared.linking.merging import Merging
from shared.linking.processor import ContactProcessor
from shared.model import identifiers, minted
from shared.model.contact import (
    Assurance,
    Channel,
    Contact,
    Direction,
    IdentifierKind,
    Party,
    Provider,
    Thread,
)
from shared.model.records import CaseRecord
from tests.builders import voice_report

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SHOP_PHONE = "+14155559999"
ANN, BOB, DAVE, EVE = "+14155550123", "+14155550177", "+14155550188", "+14155550199"
FAMILY = "+14155550166"  # one phone two app accounts verify: contested
CAROL, CAROL_COLLEAGUE, ANN_HOME = "carol@example.org", "pat@example.org", "ann.home@example.org"


def _phone(value: str, assurance: Assurance = Assurance.CHANNEL) -> Party:
    return Party(identifiers=(identifiers.phone(value, "US", assurance),))


def _contact(  # noqa: PLR0917 - the fields every contact names, in the order they read
    provider: Provider,
    channel: Channel,
    message_id: str,
    at: datetime,
    sender: Party,
    recipient: Party,
    *,
    direction: Direction = Direction.INBOUND,
    **fields: Any,
) -> Contact:
    return Contact(
        contact_id=minted.contact_id(provider.value, message_id, at),
        channel=channel,
        provider=provider,
        direction=direction,
        provider_message_id=message_id,
        occurred_at=at,
        received_at=at,
        sender=sender,
        recipient=recipient,
        **fields,
    )


def sms(sid: str, sender: str, at: datetime, text: str = "hello", *, outbound: bool = False) -> Contact:
    customer, shop = _phone(sender), _phone(SHOP_PHONE)
    if outbound:
        return _contact(
            Provider.TWILIO, Channel.SMS, sid, at, shop, customer, direction=Direction.OUTBOUND, content={"text": text}
        )
    return _contact(Provider.TWILIO, Channel.SMS, sid, at, customer, shop, content={"text": text})


def whatsapp(wamid: str, wa_id: str, at: datetime, text: str = "hi") -> Contact:
    sender = Party(identifiers=identifiers.whatsapp(wa_id))
    return _contact(Provider.META, Channel.WHATSAPP, wamid, at, sender, _phone(SHOP_PHONE), content={"text": text})


def messenger(mid: str, psid: str, at: datetime, text: str = "hi") -> Contact:
    sender = Party(identifiers=(identifiers.page_scoped(IdentifierKind.MESSENGER, "page1", psid),))
    page = Party(identifiers=(identifiers.page_scoped(IdentifierKind.MESSENGER, "page1", "page1"),))
    return _contact(Provider.META, Channel.MESSENGER, mid, at, sender, page, content={"text": text})


def email(
    message_id: str, sender: str, at: datetime, *, in_reply_to: str | None = None, text: str = "hi", auto: bool = False
) -> Contact:
    return _contact(
        Provider.SES,
        Channel.EMAIL,
        message_id,
        at,
        Party(identifiers=(identifiers.email(sender, Assurance.CHANNEL),)),
        Party(identifiers=(identifiers.email("support@shop.example.com", Assurance.CHANNEL),)),
        thread=Thread(message_id=message_id, in_reply_to=in_reply_to, subject="Broken kettle"),
        content={"text": text},
        automated=auto,
    )


def app_login(event_id: str, account: str, at: datetime, *, phone: str, email_address: str) -> Contact:
    verified = (
        identifiers.account(IdentifierKind.APP, account),
        identifiers.phone(phone, "US", Assurance.VERIFIED),
        identifiers.email(email_address, Assurance.VERIFIED),
    )
    return _contact(
        Provider.APP,
        Channel.APP,
        event_id,
        at,
        Party(identifiers=verified),
        Party(),
        content={"text": "signed in to ask about my order"},
    )


@dataclass
class Run:
    """What one run of the workload uses and remembers: its use cases and the results operations name."""

    processor: ContactProcessor
    commands: Callable[[datetime], Commands]  # the /v1 use cases with the step's fixed clock
    merging: Callable[[datetime], Merging]
    read_contact: Callable[[str, str], Contact | None]  # (provider, provider message id) → stored contact
    read_case: Callable[[str], CaseRecord | None]
    merges: dict[str, str] = field(default_factory=dict)  # step label → merge id
    # What a client looked up for a request, kept for its retries: it knows the id it asked about.
    looked_up: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One message or request; `run` does it once, as a delivery or a client's attempt would."""

    label: str
    at: datetime
    run: Callable[[Run, datetime], object]
    message: bool = False  # a queued message (SQS redelivers it) rather than a client's request
    # Steps that exist only because of this one (a reply quotes its Message-ID, a text quotes its case's
    # reference): a late redelivery of this step still comes before them.
    quoted_by: tuple[str, ...] = ()
    # A message that merges customers (an app login) changes history at its wall-clock time, as requests do:
    # a late redelivery is not moved past it (docs/data-model.md, "Arriving late").
    merges: bool = False


def deliver(label: str, contact: Contact, *, quoted_by: tuple[str, ...] = (), merges: bool = False) -> Step:
    process: Callable[[Run, datetime], object] = lambda run, _: run.processor.process(contact)  # noqa: E731
    return Step(label, contact.received_at, process, message=True, quoted_by=quoted_by, merges=merges)


def _stored(run: Run, provider: str, message_id: str) -> Contact:
    contact = run.read_contact(provider, message_id)
    if contact is None:
        raise LookupError(f"{provider}:{message_id} is not stored")  # the request of a client that got it wrong
    return contact


def _customer(run: Run, provider: str, message_id: str) -> str:
    if (provider, message_id) not in run.looked_up:
        customer = _stored(run, provider, message_id).customer_id
        if customer is None:
            raise LookupError(f"{provider}:{message_id} has no customer")
        run.looked_up[(provider, message_id)] = customer
    return run.looked_up[(provider, message_id)]


def merge(label: str, at: datetime, first: tuple[str, str], second: tuple[str, str]) -> Step:
    def run_merge(run: Run, now: datetime) -> object:
        request = MergeRequest(other_customer_id=_customer(run, *second), evidence="CRM record 4471")
        view = run.commands(now).merge(_customer(run, *first), request)
        run.merges[label] = view.merge_id
        return view

    return Step(label, at, run_merge)


def attach(label: str, at: datetime, owner: tuple[str, str], kind: IdentifierKind, value: str) -> Step:
    def run_attach(run: Run, now: datetime) -> object:
        request = AttachIdentifierRequest(kind=kind, value=value, evidence="CRM master data")
        view = run.commands(now).attach_identifier(_customer(run, *owner), request)
        if view.merge is not None:
            run.merges[label] = view.merge.merge_id
        return view

    return Step(label, at, run_attach)


def undo(label: str, at: datetime, merge_label: str) -> Step:
    def run_undo(run: Run, now: datetime) -> object:
        if merge_label not in run.merges:
            raise LookupError(f"{merge_label} made no merge")
        return run.commands(now).undo_merge(run.merges[merge_label])

    return Step(label, at, run_undo)


def close(label: str, at: datetime, of: tuple[str, str]) -> Step:
    return Step(label, at, lambda run, now: run.commands(now).close_case(_case(run, of)))


def reopen(label: str, at: datetime, of: tuple[str, str]) -> Step:
    return Step(label, at, lambda run, now: run.commands(now).reopen_case(_case(run, of)))


def erase(label: str, at: datetime, of: tuple[str, str]) -> Step:
    return Step(label, at, lambda run, now: run.commands(now).erase_customer(_customer(run, *of)))


def _case(run: Run, of: tuple[str, str]) -> str:
    case = _stored(run, *of).case_id
    if case is None:
        raise LookupError(f"{of} has no case")
    return case


def steps() -> list[Step]:
    """About forty steps: new and known customers, the reopen window, duplicates, a call and its callbacks,
    an email thread with a colleague, a quoted case reference, an app login that merges, a CRM attach that
    merges, an undo, close and reopen, an auto-reply, our own outbound (on a case and on none), a phone two app
    accounts verify, and erasures with a redelivery."""
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    ann_first = sms("SM-ann-1", ANN, T0, "Where is my order?")
    call = [
        voice_report("incoming.json", "incoming", at=T0 + day),
        voice_report("status_ringing.json", "status", at=T0 + day + timedelta(seconds=2)),
        voice_report("status_completed.json", "status", at=T0 + day + timedelta(seconds=90)),
        voice_report("recording_completed.json", "recording", at=T0 + day + timedelta(seconds=95)),
        voice_report("transcription_completed.json", "transcription", at=T0 + day + timedelta(seconds=160)),
    ]
    dave_first = sms("SM-dave-1", DAVE, T0 + 3 * day, "I am Ann's husband")
    ann_case_reference = minted.case_reference(minted.case_id(ann_first.contact_id))
    return [
        deliver("ann-sms-1", ann_first, quoted_by=("dave-quotes-ann",)),
        deliver("ann-sms-2", sms("SM-ann-2", ANN, T0 + hour, "Order 4417, it is late")),
        deliver("ann-sms-2-retry", sms("SM-ann-2", ANN, T0 + hour + timedelta(seconds=4), "Order 4417, it is late")),
        deliver("ann-whatsapp", whatsapp("wamid.ann1", ANN.lstrip("+"), T0 + 2 * hour, "Sending a photo")),
        deliver("bob-messenger", messenger("mid.bob1", "psid-bob", T0 + 3 * hour, "My kettle leaks")),
        deliver(
            "carol-email-1",
            email("m1@carol.example.org", CAROL, T0 + 4 * hour, text="The lid is broken"),
            quoted_by=("carol-email-2",),
        ),
        deliver(
            "carol-email-2",
            email("m2@carol.example.org", CAROL, T0 + 5 * hour, in_reply_to="m1@carol.example.org", text="Any news?"),
            quoted_by=("colleague-reply",),
        ),
        deliver(
            "colleague-reply",
            email("m3@work.example.org", CAROL_COLLEAGUE, T0 + 6 * hour, in_reply_to="m2@carol.example.org"),
        ),
        deliver("carol-auto-reply", email("m4@auto.example.net", "ooo@auto.example.net", T0 + 7 * hour, auto=True)),
        *(deliver(f"ann-call-{index}", report) for index, report in enumerate(call)),
        deliver("ann-call-status-retry", call[2]),
        deliver("outbound-to-ann", sms("SM-out-1", ANN, T0 + day + 2 * hour, "We are on it", outbound=True)),
        deliver("dave-sms-1", dave_first),
        deliver("dave-quotes-ann", sms("SM-dave-2", DAVE, T0 + 3 * day + hour, f"About {ann_case_reference}")),
        deliver("bob-types-carols-email", messenger("mid.bob2", "psid-bob", T0 + 3 * day + 2 * hour, CAROL)),
        deliver("eve-sms-1", sms("SM-eve-1", EVE, T0 + 3 * day + 3 * hour, "Hi, Eve here")),
        deliver("ann-home-email", email("m5@home.example.org", ANN_HOME, T0 + 3 * day + 3 * hour, text="From home")),
        deliver(
            "ann-app-login",
            app_login("evt-ann-1", "acct-ann", T0 + 3 * day + 4 * hour, phone=ANN, email_address=ANN_HOME),
            merges=True,
        ),
        close("close-ann-case", T0 + 3 * day + 6 * hour, ("twilio", "SM-ann-2")),
        deliver("ann-sms-after-close", sms("SM-ann-3", ANN, T0 + 3 * day + 7 * hour, "One more thing")),
        reopen("reopen-ann-case", T0 + 3 * day + 8 * hour, ("twilio", "SM-ann-2")),
        deliver("ann-sms-after-reopen", sms("SM-ann-4", ANN, T0 + 3 * day + 9 * hour, "Thanks for reopening")),
        attach("crm-attach", T0 + 4 * day, ("meta", "mid.bob1"), IdentifierKind.EMAIL, CAROL),
        deliver("carol-after-attach", email("m6@carol.example.org", CAROL, T0 + 4 * day + hour, text="Hello?")),
        undo("undo-crm-attach", T0 + 4 * day + 2 * hour, "crm-attach"),
        deliver("carol-after-undo", email("m7@carol.example.org", CAROL, T0 + 4 * day + 3 * hour)),
        merge("merge-bob-dave", T0 + 4 * day + 4 * hour, ("meta", "mid.bob1"), ("twilio", "SM-dave-1")),
        deliver("dave-after-merge", sms("SM-dave-3", DAVE, T0 + 4 * day + 5 * hour, "Still waiting")),
        deliver(
            "parent-app-login",
            app_login("evt-parent-1", "acct-parent", T0 + 5 * day, phone=FAMILY, email_address="kim@example.org"),
            merges=True,
        ),
        deliver(
            "child-app-login",
            app_login("evt-child-1", "acct-child", T0 + 5 * day + hour, phone=FAMILY, email_address="lou@example.org"),
            merges=True,
        ),
        deliver("family-phone-sms", sms("SM-family-1", FAMILY, T0 + 5 * day + 2 * hour, "Who am I?")),
        deliver("outbound-to-dave-later", sms("SM-out-2", DAVE, T0 + 14 * day, "Any news?", outbound=True)),
        deliver("ann-sms-next-week", sms("SM-ann-5", ANN, T0 + 15 * day, "New problem, new case")),
        deliver("ann-whatsapp-next-week", whatsapp("wamid.ann2", ANN.lstrip("+"), T0 + 15 * day + hour)),
        deliver("bob-messenger-late", messenger("mid.bob3", "psid-bob", T0 + 15 * day + 2 * hour)),
        erase("erase-eve", T0 + 16 * day, ("twilio", "SM-eve-1")),
        deliver("eve-sms-redelivered", sms("SM-eve-1", EVE, T0 + 3 * day + 3 * hour, "Hi, Eve here")),
        deliver("new-after-erasure", sms("SM-eve-2", EVE, T0 + 16 * day + hour, "Hello again")),
        erase("erase-child", T0 + 17 * day, ("app", "evt-child-1")),
        deliver("family-phone-after-erasure", sms("SM-family-2", FAMILY, T0 + 17 * day + hour, "Mine again?")),
    ]
