"""Request and response bodies of /v1: the OpenAPI document is generated from these models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.model.contact import Assurance, Channel, Contact, IdentifierKind
from shared.model.records import CaseStatus

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
    contested_with: list[str] = Field(
        default=[],
        description="Other customers who verified this identifier too (a shared or recycled number): contacts "
        "from it join none of them until a CRM vouches for this customer (docs/identity.md, contested identifiers)",
    )


class CustomerView(View):
    customer_id: str
    status: str
    created_at: datetime
    active_case_id: str | None
    identifiers: list[IdentifierView]
    merged_from: str | None = Field(
        default=None, description="The id asked for, when it was merged into this (surviving) customer"
    )


class CaseView(View):
    case_id: str
    reference: str
    customer_id: str | None
    status: CaseStatus
    opened_at: datetime
    opened_by: str
    channel: Channel
    related_case_id: str | None = Field(
        default=None, description="After a merge kept two open cases: the one that stayed the active case"
    )


class CaseDetail(CaseView):
    contacts: Page[Contact]


class Request(BaseModel):
    """Our own input: unknown fields are refused, and strings are never coerced from numbers."""

    model_config = ConfigDict(extra="forbid")


Evidence = Annotated[
    str, Field(strict=True, min_length=1, max_length=1024, description="Why the caller vouches; kept in the merge log")
]


class AttachIdentifierRequest(Request):
    kind: IdentifierKind
    value: str = Field(strict=True, min_length=1, max_length=320)
    evidence: Evidence


class MergeRequest(Request):
    other_customer_id: str = Field(strict=True, min_length=1, max_length=128, pattern=r"^[0-9A-Za-z_-]+$")
    evidence: Evidence


class MergeView(View):
    merge_id: str
    surviving_customer_id: str
    merged_customer_id: str
    evidence: str
    merged_at: datetime
    undone_at: datetime | None


class UnmergeView(View):
    merge_id: str
    surviving_customer_id: str
    restored_customer_id: str
    unmerged_at: datetime


class AttachView(View):
    customer_id: str = Field(description="The customer that owns the identifier now (the survivor after a merge)")
    identifier: IdentifierView | None = Field(description="As stored now; null if not listed yet")
    attached: bool = Field(description="False when the customer already owned it (it is verified now)")
    merge: MergeView | None = Field(description="The merge this attachment caused, if the identifier had another owner")
    contested: bool = Field(
        default=False,
        description="The owner holds another verified app/CRM id: the identifier now finds neither customer "
        "(an identity.suggested names both on each contact); vouching for the owner settles it",
    )


class CaseStatusView(CaseView):
    changed: bool = Field(description="False when the case already had this status (the call is idempotent)")


class ErasureView(View):
    customer_id: str
    erased_at: datetime = Field(description="When the first erasure request was made; a retry keeps it")


class ErrorBody(View):
    code: str
    message: str


class ErrorResponse(View):
    error: ErrorBody
