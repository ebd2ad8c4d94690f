"""What the /v1 use cases need of the table (`shared.adapters.dynamo.admin.AdminStore` provides it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from shared.model.contact import Contact, Identifier
from shared.model.records import (
    CaseChange,
    CaseRecord,
    CustomerState,
    ErasureResult,
    IdentityRecord,
    TimelineFilter,
)


class ApiStore(Protocol):
    def customer_state(self, customer_id: str) -> CustomerState: ...
    def get_contact(self, contact_id: str) -> Contact | None: ...
    def find_contact_id(self, provider: str, provider_message_id: str) -> str | None: ...
    def find_identity(self, identifier: Identifier) -> IdentityRecord | None: ...
    def customer_identities(self, customer_id: str) -> list[IdentityRecord]: ...
    def get_case(self, case_id: str) -> CaseRecord | None: ...

    def case_contacts(self, case_id: str, *, limit: int, cursor: str | None) -> tuple[list[Contact], str | None]:
        """A case's contacts, newest first; raises `InvalidCursor` for a cursor of another listing."""
        ...

    def filtered_timeline(
        self,
        customer_id: str,
        where: TimelineFilter,
        *,
        limit: int,
        cursor: str | None,
        absorbed: Iterable[str] = (),
    ) -> tuple[list[Contact], str | None]: ...

    def merged_cases(
        self, customer_id: str, *, limit: int, cursor: str | None, absorbed: Iterable[str] = ()
    ) -> tuple[list[CaseRecord], str | None]: ...

    def close_case(self, case_id: str, at: datetime) -> CaseChange | None: ...
    def reopen_case(self, case_id: str, at: datetime) -> CaseChange | None: ...
    def erase_customer(self, customer_id: str, at: datetime) -> ErasureResult: ...
