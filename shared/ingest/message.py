"""The message a webhook puts on the ingest queue and the processor takes off it."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.model.contact import Contact


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
        """FIFO group: one customer-side identifier's contacts are processed in order, one at a time.

        Without an identifier the group is the provider message, so the updates of
        one anonymous call still arrive in order.
        """
        party = self.contact.customer_party.primary
        if party is None:
            return f"anonymous-{hashlib.sha256(self._message_key.encode()).hexdigest()[:32]}"
        return hashlib.sha256(party.key.encode()).hexdigest()[:64]

    @property
    def _message_key(self) -> str:
        return f"{self.contact.provider.value}\x1f{self.contact.provider_message_id}"
