"""Response bodies of /v1: the OpenAPI document is generated from these models."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from shared.schema import Assurance, Channel, Contact, IdentifierKind
from shared.store.records import CaseStatus

Item = TypeVar("Item")


class View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(View, Generic[Item]):
    items: list[Item]
    next_cursor: str | None


class IdentifierView(View):
    kind: IdentifierKind
    value: str
    assurance: Assurance
    first_seen: datetime


class CustomerView(View):
    customer_id: str
    status: str
    created_at: datetime
    active_case_id: str | None
    identifiers: list[IdentifierView]


class CaseView(View):
    case_id: str
    reference: str
    customer_id: str | None
    status: CaseStatus
    opened_at: datetime
    opened_by: str
    channel: Channel


class CaseDetail(CaseView):
    contacts: Page[Contact]


class ErrorBody(View):
    code: str
    message: str


class ErrorResponse(View):
    error: ErrorBody
