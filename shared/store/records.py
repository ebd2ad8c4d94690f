"""What the store reads and writes besides contacts, as typed records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

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
    # Set when a merge kept two open cases: the one that stayed the customer's active case.
    related_case_id: str | None = None


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


@dataclass(frozen=True)
class Profile:
    customer_id: str
    status: str
    created_at: str
    merged_into: str | None
    active_case_id: str | None
    active_case_at: str | None

    @classmethod
    def from_item(cls, customer_id: str, item: Mapping[str, Any]) -> Profile:
        return cls(
            customer_id=customer_id,
            status=item.get("status", "active"),
            created_at=item.get("created_at", ""),
            merged_into=item.get("merged_into"),
            active_case_id=item.get("active_case_id"),
            active_case_at=item.get("active_case_at"),
        )


@dataclass(frozen=True)
class OwnedIdentifier:
    identifier: Identifier
    customer_id: str
    merged_by: str | None
