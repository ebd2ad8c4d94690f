"""What the store reads and writes besides contacts, as typed records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.schema import Assurance, Channel, Identifier, UtcDatetime


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CaseRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    customer_id: str | None
    reference: str
    status: CaseStatus
    opened_at: UtcDatetime
    opened_by: str
    channel: Channel


class CustomerRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    status: str
    created_at: UtcDatetime
    active_case_id: str | None
    active_case_at: datetime | None


class IdentityRecord(BaseModel):
    """Who owns an identifier, and how strongly that was established."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identifier: Identifier
    customer_id: str
    assurance: Assurance
    first_seen: UtcDatetime
