"""What the reply use cases need: the table, the outbound queue, and a courier per provider.

`shared.adapters.dynamo.replies.DynamoReplyStore` and `shared.adapters.sqs.FifoQueue`
implement the first two; `shared.replies.couriers` holds the couriers, built on
a transport or an AWS client adapter. tests/fakes_replies.py has in-memory ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from shared.model.contact import Channel, Contact, Identifier
from shared.model.delivery import ConsentChange, OutboundMessage, SendOutcome
from shared.model.records import CaseRecord, LinkWrites, VersionedContact


class ReplyStore(Protocol):
    def get_case(self, case_id: str) -> CaseRecord | None: ...

    def latest_inbound(self, case_id: str, channel: Channel | None) -> Contact | None:
        """The customer's newest message on the case (on `channel` if given), read newest first."""
        ...

    def identifier_owner(self, identifier: Identifier) -> str | None: ...

    def opted_out(self, phone: str) -> bool: ...

    def claim_message(self, contact: Contact) -> str:
        """Make `contact` the one stored under its own message id; answers the owner's contact id."""
        ...

    def get_reply(self, contact_id: str) -> VersionedContact | None: ...

    def save_reply(self, contact: Contact, writes: LinkWrites) -> None:
        """The reply (version 1, unless stored already), its thread keys, and the case as the customer's
        most recently active one, so the customer's answer on a channel without thread keys joins it."""
        ...

    def put_reply(self, contact: Contact, expected_version: int) -> VersionedContact | None:
        """Write the next version: None when written, else what is stored now."""
        ...

    def record_provider_id(self, contact: Contact, provider_message_id: str, thread_key: str | None) -> None:
        """After the provider accepted it: its id finds the reply (status callbacks, echoes of our own
        message), and a public post's id threads the customer's answer to it back to the case."""
        ...

    def find_reply(self, provider: str, provider_message_id: str) -> str | None: ...

    def set_consent(self, change: ConsentChange) -> None:
        """Record an opt-out or opt-in, unless a later change of the same number is already recorded."""
        ...


class OutboundQueue(Protocol):
    def send(self, messages: Sequence[OutboundMessage]) -> None: ...


class Courier(Protocol):
    """Sends one reply through one provider; never raises for what the provider answers."""

    def send(self, contact: Contact, now: datetime) -> SendOutcome: ...


Couriers = Mapping[str, Courier]  # by provider (`Contact.provider` value)
