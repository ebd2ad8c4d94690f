"""`POST /v1/cases/{case_id}/replies`: decide, store the reply on its case, queue it. Nothing is sent here.

Write order (docs/decisions.md, "Replies"): the reply's own message id is claimed
first, so a retried request (same Idempotency-Key) finds the reply it stored
and queues it again instead of making a second one; then the reply and its
thread keys; then the queue message. A crash between any two is healed by the
retry; the sender's state machine makes a second queue message harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.model import identifiers, thread_keys
from shared.model.contact import Assurance, Channel, Contact, DeliveryStatus, Identifier, IdentifierKind, Template
from shared.model.delivery import OutboundMessage, SendReply
from shared.model.identifiers import InvalidIdentifier
from shared.model.records import CaseStatus, LinkWrites
from shared.replies import rules
from shared.replies.compose import outbound_contact, reply_id
from shared.replies.ports import OutboundQueue, ReplyStore
from shared.replies.rules import ReplyRefused


class ReplyRequest(BaseModel):
    """An agent's reply. Channel and recipient default to those of the customer's latest message on the case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(default=None, min_length=1, max_length=32_768)
    channel: Channel | None = Field(default=None, description="Reply on this channel instead of the latest one")
    to: str | None = Field(
        default=None,
        min_length=1,
        max_length=320,
        description="The customer's address on that channel (E.164 phone, email, X user id, page:scoped id); "
        "it must be one of the case customer's identifiers",
    )
    template: Template | None = Field(default=None, description="WhatsApp: an approved template (outside 24 h)")
    attachments: list[str] = Field(
        default=[], max_length=10, description="Public https URLs of media (SMS/MMS and WhatsApp through Twilio)"
    )


class CaseNotFound(LookupError):
    """404."""


class CaseMerged(LookupError):
    """409: the case's contacts joined another case; reply there."""

    def __init__(self, into: str | None) -> None:
        super().__init__(f"case was merged into {into}")
        self.into = into


class IdempotencyKeyReused(ValueError):
    """422: the Idempotency-Key was used before with another body."""


class RequestInProgress(RuntimeError):
    """409: a request with this Idempotency-Key is still running."""


def _now() -> datetime:
    return datetime.now(UTC)


class Replies:
    def __init__(
        self,
        store: ReplyStore,
        queue: Callable[[], OutboundQueue],
        *,
        default_region: str,
        email_from: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._queue = queue
        self._default_region = default_region
        self._email_from = email_from
        self._clock = clock

    def reply(self, case_id: str, request: ReplyRequest, idempotency_key: str | None) -> Contact:
        case = self._store.get_case(case_id)
        if case is None or case.customer_id is None:
            raise CaseNotFound(case_id)
        if case.status is CaseStatus.MERGED:
            raise CaseMerged(case.merged_into)
        if request.channel is not None:
            rules.refuse_untextual(request.channel)
        answered = self._store.latest_inbound(case_id, request.channel)
        if answered is None:
            where = f" on {request.channel.value}" if request.channel else ""
            raise ReplyRefused("no_customer_message", f"the case has no message from the customer{where} to answer")
        rules.provider_for(answered)  # a call or a contact-center chat has no text reply: refused before anything
        recipient = self._recipient(request, answered, case.customer_id)
        phone = rules.phone_of(recipient)
        now = self._clock()
        route = rules.route(
            answered,
            now=now,
            text=request.text,
            attachments=len(request.attachments),
            template=request.template,
            recipient=recipient,
            opted_out=phone is not None and self._store.opted_out(phone),
        )
        for url in request.attachments:
            if not url.startswith("https://"):
                raise ReplyRefused("invalid_attachment", "attachments are public https URLs")
        contact = outbound_contact(
            route,
            case,
            text=request.text,
            attachment_urls=tuple(request.attachments),
            our_message_id=reply_id(case_id, idempotency_key),
            now=now,
            email_from=self._email_from,
        )
        return self._store_and_queue(contact)

    def _recipient(self, request: ReplyRequest, answered: Contact, customer_id: str) -> Identifier:
        if request.to is None:
            return rules.recipient_of(answered)
        kind = rules.CUSTOMER_KINDS.get(answered.channel)
        try:
            if kind is IdentifierKind.PHONE:
                wanted = identifiers.phone(request.to, self._default_region, Assurance.CHANNEL)
            elif kind is IdentifierKind.EMAIL:
                wanted = identifiers.email(request.to, Assurance.CHANNEL)
            elif kind is IdentifierKind.X:
                wanted = identifiers.x_user(request.to)
            elif kind is IdentifierKind.WHATSAPP:
                wanted = identifiers.whatsapp(request.to)[0]
            elif kind in (IdentifierKind.MESSENGER, IdentifierKind.INSTAGRAM):
                page, _, scoped = request.to.partition(":")
                wanted = identifiers.page_scoped(kind, page, scoped)
            else:
                rules.refuse_untextual(answered.channel)
                raise ReplyRefused("channel_not_supported", f"no `to` on {answered.channel.value}")
        except InvalidIdentifier as error:
            raise ReplyRefused("invalid_recipient", f"`to` is not a {answered.channel.value} address") from error
        if self._store.identifier_owner(wanted) != customer_id:
            raise ReplyRefused("recipient_not_customer", "`to` is not an identifier of the case's customer")
        return wanted

    def _store_and_queue(self, contact: Contact) -> Contact:
        owner = self._store.claim_message(contact)
        if owner != contact.contact_id:
            stored = self._store.get_reply(owner)
            if stored is not None:
                # A retried request: answer the reply it made, and queue it again if it may not have been.
                if stored.contact.delivery and stored.contact.delivery.status is DeliveryStatus.QUEUED:
                    self._enqueue(stored.contact)
                return stored.contact
            contact = contact.model_copy(update={"contact_id": owner})  # the first try died before storing it
        writes = LinkWrites(thread_keys=thread_keys.owned(contact), case_owner=contact.customer_id)
        self._store.save_reply(contact, writes)
        self._enqueue(contact)
        return contact

    def _enqueue(self, contact: Contact) -> None:
        assert contact.case_id is not None
        self._queue().send([OutboundMessage(work=SendReply(contact_id=contact.contact_id, case_id=contact.case_id))])
