"""Read use cases of /v1: each turns a request into store look-ups and a view."""

from __future__ import annotations

from shared import identifiers
from shared.api.models import CaseDetail, CaseView, CustomerView, IdentifierView, Page
from shared.identifiers import InvalidIdentifier
from shared.schema import Assurance, Contact, Identifier, IdentifierKind
from shared.store.dynamo import DynamoStore
from shared.store.records import CaseRecord


class NotFound(LookupError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.message = f"{what} not found"


def parse_identifier(text: str, default_region: str) -> Identifier:
    """`kind:value` from a query string, normalized as the processor normalizes it."""
    kind_text, separator, value = text.partition(":")
    if not separator or not value:
        raise InvalidIdentifier("identifier must look like kind:value, e.g. phone:+14155550100")
    try:
        kind = IdentifierKind(kind_text)
    except ValueError as error:
        raise InvalidIdentifier(
            f"unknown identifier kind; one of {', '.join(k.value for k in IdentifierKind)}"
        ) from error
    if kind is IdentifierKind.PHONE:
        return identifiers.phone(value, default_region, Assurance.CHANNEL)
    if kind is IdentifierKind.EMAIL:
        return identifiers.email(value, Assurance.CHANNEL)
    if kind is IdentifierKind.X:
        return identifiers.x_user(value)
    if kind in (IdentifierKind.APP, IdentifierKind.CRM):
        return identifiers.account(kind, value)
    return Identifier(kind=kind, value=value, assurance=Assurance.CHANNEL)


class Queries:
    def __init__(self, store: DynamoStore) -> None:
        self._store = store

    def contact(self, contact_id: str) -> Contact:
        contact = self._store.get_contact(contact_id)
        if contact is None:
            raise NotFound("contact")
        return contact

    def contacts_by_provider_id(self, provider: str, provider_message_id: str) -> Page[Contact]:
        contact_id = self._store.find_contact_id(provider, provider_message_id)
        contact = self._store.get_contact(contact_id) if contact_id else None
        return Page[Contact](items=[contact] if contact else [], next_cursor=None)

    def customer(self, customer_id: str) -> CustomerView:
        record = self._store.get_customer(customer_id)
        if record is None:
            raise NotFound("customer")
        return CustomerView(
            customer_id=record.customer_id,
            status=record.status,
            created_at=record.created_at,
            active_case_id=record.active_case_id,
            identifiers=[
                IdentifierView(
                    kind=identity.identifier.kind,
                    value=identity.identifier.value,
                    assurance=identity.assurance,
                    first_seen=identity.first_seen,
                )
                for identity in self._store.customer_identities(customer_id)
            ],
        )

    def customers_by_identifier(self, identifier: Identifier) -> Page[CustomerView]:
        identity = self._store.find_identity(identifier)
        items = [self.customer(identity.customer_id)] if identity else []
        return Page[CustomerView](items=items, next_cursor=None)

    def timeline(self, customer_id: str, *, limit: int, cursor: str | None) -> Page[Contact]:
        self._require_customer(customer_id)
        contacts, next_cursor = self._store.customer_timeline(customer_id, limit=limit, cursor=cursor)
        return Page[Contact](items=contacts, next_cursor=next_cursor)

    def cases(self, customer_id: str, *, limit: int, cursor: str | None) -> Page[CaseView]:
        self._require_customer(customer_id)
        records, next_cursor = self._store.customer_cases(customer_id, limit=limit, cursor=cursor)
        return Page[CaseView](items=[_case_view(record) for record in records], next_cursor=next_cursor)

    def case(self, case_id: str, *, limit: int, cursor: str | None) -> CaseDetail:
        record = self._store.get_case(case_id)
        if record is None:
            raise NotFound("case")
        contacts, next_cursor = self._store.case_contacts(case_id, limit=limit, cursor=cursor)
        return CaseDetail(
            **_case_view(record).model_dump(), contacts=Page[Contact](items=contacts, next_cursor=next_cursor)
        )

    def _require_customer(self, customer_id: str) -> None:
        if self._store.get_customer(customer_id) is None:
            raise NotFound("customer")


def _case_view(record: CaseRecord) -> CaseView:
    return CaseView.model_validate(record.model_dump())
