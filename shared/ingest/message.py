"""The message a webhook puts on the ingest queue and the processor takes off it."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.model.contact import Contact, IdentifierKind


class ContactMessage(BaseModel):
    """A normalized contact waiting to be resolved, linked and stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["contact"] = "contact"
    version: Literal[1] = 1
    contact: Contact

    @property
    def body(self) -> str:
        """The queue message body: the JSON of this model, without unset fields."""
        return self.model_dump_json(exclude_none=True)

    @property
    def deduplication_id(self) -> str:
        """FIFO dedupe id: the same provider message sent twice within 5 minutes is queued once.

        A revision (a call's status, recording or transcription callback) is a new
        message about the same provider id, so its key is part of the id: the
        updates of one call are all queued, a retried callback only once.
        """
        key = self._message_key
        if self.contact.revision is not None:
            key += f"\x1f{self.contact.revision.key}"
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def group_id(self) -> str:
        """FIFO group: one person's contacts are processed in order, one at a time.

        The group is the party's phone number where the channel has one (SMS,
        calls, WhatsApp, whose sender also carries its number), so a person's
        first WhatsApp message and first SMS never race to create two customers;
        else its primary identifier. Without an identifier the group is the
        provider message, so the updates of one anonymous call still arrive in order.
        """
        party = self.contact.customer_party
        phone = next((i for i in party.identifiers if i.kind is IdentifierKind.PHONE), None)
        grouped_by = phone or party.primary
        if grouped_by is None:
            return f"anonymous-{hashlib.sha256(self._message_key.encode()).hexdigest()[:32]}"
        return hashlib.sha256(grouped_by.key.encode()).hexdigest()[:64]

    @property
    def _message_key(self) -> str:
        return f"{self.contact.provider.value}\x1f{self.contact.provider_message_id}"
