"""The message a webhook puts on the ingest queue and the processor takes off it."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.schema import Contact


class ContactMessage(BaseModel):
    """A normalized contact waiting to be resolved, linked and stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["contact"] = "contact"
    version: Literal[1] = 1
    contact: Contact

    @property
    def deduplication_id(self) -> str:
        """FIFO dedupe id: the same provider message sent twice within 5 minutes is queued once."""
        key = f"{self.contact.provider.value}\x1f{self.contact.provider_message_id}"
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def group_id(self) -> str:
        """FIFO group: one customer-side identifier's contacts are processed in order, one at a time."""
        party = self.contact.customer_party.primary
        if party is None:
            return f"anonymous-{self.deduplication_id[:32]}"
        return hashlib.sha256(party.key.encode()).hexdigest()[:64]


IngestMessage = ContactMessage
