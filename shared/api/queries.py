"""Read use cases of /v1: each turns a request into store look-ups and a view."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from shared.api.models import CaseDetail, CaseView, CustomerView, IdentifierView, Page
from shared.api.ports import ApiStore
from shared.model import identifiers
from shared.model.contact import Assurance, Contact, Identifier, IdentifierKind
from shared.model.identifiers import InvalidIdentifier
from shared.model.records import CaseRecord, CustomerRecord, CustomerState, TimelineFilter

# (customer id) -> (surviving id, was merged): `shared.linking.merging.Merging.resolve_customer_id`.
ResolveCustomer = Callable[[str], tuple[str, bool]]
MERGED = "merged"


class NotFound(LookupError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.message = f"{what} not found"


class Gone(LookupError):
    """The customer was erased (410): unlike 404, the id existed and will never answer again."""

    def __init__(self) -> None:
        super().__init__("customer was erased")
        self.message = "customer was erased"


def parse_identifier(text: str, default_region: str) -> Identifier:
    """`kind:value` from a query string or body, normalized as the processor normalizes it."""
    kind_text, separator, value = text.partition(":")
    if not separator or not value:
        raise InvalidIdentifier("identifier must look like kind:value, e.g. phone:+14155550100")
    try:
        kind = IdentifierKind(kind_text)
    except ValueError as error:
        raise InvalidIdentifier(
            f"unknown identifier kind; one of {', '.join(k.value for k in IdentifierKind)}"
        ) from error
    try:
        return _normalized(kind, value, default_region)
    except ValidationError as error:  # e.g. too long: named by field, never echoing the value
        raise InvalidIdentifier(f"invalid {kind.value} identifier") from error


def _normalized(kind: IdentifierKind, value: str, default_region: str) -> Identifier:
    if kind is IdentifierKind.PHONE:
        return identifiers.phone(value, default_region, Assurance.CHANNEL)
    if kind is IdentifierKind.EMAIL:
        return identifiers.email(value, Assurance.CHANNEL)
    if kind is IdentifierKind.X:
        return identifiers.x_user(value)
    if kind in (IdentifierKind.APP, IdentifierKind.CRM):
        return identifiers.account(kind, value)
    if kind is IdentifierKind.WHATSAPP:
        return identifiers.whatsapp(value)[0]  # `+1415…` and `1415…` are one wa_id, as the parsers store it
    return Identifier(kind=kind, value=value, assurance=Assurance.CHANNEL)


class Queries:
    def __init__(self, store: ApiStore, resolve: ResolveCustomer) -> None:
        self._store = store
        self._resolve = resolve

    def contact(self, contact_id: str) -> Contact:
        contact = self._store.get_contact(contact_id)
        if contact is None:
            raise NotFound("contact")
        return contact

    def contacts_by_provider_id(self, provider: str, provider_message_id: str) -> Page[Contact]:
        contact_id = self._store.find_contact_id(provider, provider_message_id)
        contact = self._store.get_contact(contact_id) if contact_id else None
        return Page[Contact](items=[contact] if contact else [], next_cursor=None)

    def live_customer(self, customer_id: str) -> CustomerState:
        """The state of the customer an id answers with (its profile is set); 404 unknown, 410 erased.

        Only a merged profile asks the identity use case, so ordinary reads stay one round trip.
        """
        state = self._store.customer_state(customer_id)
        if state.erased_at is None and state.profile is not None and state.profile.status == MERGED:
            survivor_id, _ = self._resolve(customer_id)
            state = self._store.customer_state(survivor_id)
        if state.erased_at is not None:
            raise Gone
        if state.profile is None:
            raise NotFound("customer")
        return state

    def customer(self, customer_id: str) -> CustomerView:
        record = _profile(self.live_customer(customer_id))
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
                    contested_with=list(identity.contested_with),
                )
                for identity in self._store.customer_identities(record.customer_id)
            ],
            merged_from=customer_id if customer_id != record.customer_id else None,
        )

    def customers_by_identifier(self, identifier: Identifier) -> Page[CustomerView]:
        identity = self._store.find_identity(identifier)
        items = [self.customer(identity.customer_id)] if identity else []
        return Page[CustomerView](items=items, next_cursor=None)

    def timeline(self, customer_id: str, where: TimelineFilter, *, limit: int, cursor: str | None) -> Page[Contact]:
        state = self.live_customer(customer_id)
        contacts, next_cursor = self._store.filtered_timeline(
            _profile(state).customer_id, where, limit=limit, cursor=cursor, absorbed=state.absorbed
        )
        return Page[Contact](items=contacts, next_cursor=next_cursor)

    def cases(self, customer_id: str, *, limit: int, cursor: str | None) -> Page[CaseView]:
        state = self.live_customer(customer_id)
        records, next_cursor = self._store.merged_cases(
            _profile(state).customer_id, limit=limit, cursor=cursor, absorbed=state.absorbed
        )
        return Page[CaseView](items=[case_view(record) for record in records], next_cursor=next_cursor)

    def case(self, case_id: str, *, limit: int, cursor: str | None) -> CaseDetail:
        record = self._store.get_case(case_id)
        if record is None:
            raise NotFound("case")
        contacts, next_cursor = self._store.case_contacts(case_id, limit=limit, cursor=cursor)
        return CaseDetail(
            **case_view(record).model_dump(), contacts=Page[Contact](items=contacts, next_cursor=next_cursor)
        )


def _profile(state: CustomerState) -> CustomerRecord:
    assert state.profile is not None  # `live_customer` raised otherwise
    return state.profile


def case_view(record: CaseRecord) -> CaseView:
    # The view names its fields: an attribute the store adds later is not published by accident.
    return CaseView.model_validate(record.model_dump(include=set(CaseView.model_fields)))
