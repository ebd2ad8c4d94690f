"""Write use cases of /v1: case status, erasure, and the identity corrections a CRM makes.

Merges and attachments are the identity use case's (`shared.linking.merging`);
this module turns their results into views. Errors are domain exceptions that
the handler maps to statuses once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from shared.api.models import (
    AttachIdentifierRequest,
    AttachView,
    CaseStatusView,
    ErasureView,
    IdentifierView,
    MergeRequest,
    MergeView,
    UnmergeView,
)
from shared.api.ports import ApiStore
from shared.api.queries import Gone, NotFound, case_view, parse_identifier
from shared.linking.merging import CustomerMerged, MergeRecord, Merging
from shared.model.contact import Assurance
from shared.model.records import CaseChange


def _now() -> datetime:
    return datetime.now(UTC)


class Commands:
    def __init__(
        self,
        store: ApiStore,
        merging: Callable[[], Merging],
        *,
        default_region: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._merging = merging  # a factory: routes that do not merge never build the identity store
        self._default_region = default_region
        self._clock = clock

    # --- cases ----------------------------------------------------------------------------

    def close_case(self, case_id: str) -> CaseStatusView:
        return _case_status(self._store.close_case(case_id, self._clock()))

    def reopen_case(self, case_id: str) -> CaseStatusView:
        return _case_status(self._store.reopen_case(case_id, self._clock()))

    # --- erasure --------------------------------------------------------------------------

    def erase_customer(self, customer_id: str) -> ErasureView:
        """Idempotent: erasing an erased customer sweeps again (a contact in flight may have landed).

        A merged id answers 409 naming its survivor: the caller erases the person, not an alias.
        """
        state = self._store.customer_state(customer_id)
        if state.erased_at is None:
            if state.profile is None:
                raise NotFound("customer")
            if state.profile.status == "merged":
                survivor_id, _ = self._merging().resolve_customer_id(customer_id)
                raise CustomerMerged(customer_id, survivor_id)
        at = self._clock()
        result = self._store.erase_customer(customer_id, at)
        for absorbed in state.absorbed:  # the same person's profiles merged into this one
            self._store.erase_customer(absorbed, at)
        return ErasureView(customer_id=customer_id, erased_at=result.erased_at)

    # --- identity -------------------------------------------------------------------------

    def attach_identifier(self, customer_id: str, request: AttachIdentifierRequest) -> AttachView:
        self._require_not_erased(customer_id)
        identifier = parse_identifier(f"{request.kind.value}:{request.value}", self._default_region)
        verified = identifier.model_copy(update={"assurance": Assurance.VERIFIED})
        result = self._merging().attach_verified_identifier(customer_id, verified, request.evidence)
        stored = self._store.find_identity(result.identifier)
        return AttachView(
            customer_id=result.customer_id,
            identifier=IdentifierView(
                kind=stored.identifier.kind,
                value=stored.identifier.value,
                assurance=stored.assurance,
                first_seen=stored.first_seen,
            )
            if stored
            else None,
            attached=result.attached,
            merge=_merge_view(result.merge) if result.merge else None,
            contested=result.contested,
        )

    def merge(self, customer_id: str, request: MergeRequest) -> MergeView:
        self._require_not_erased(customer_id)
        self._require_not_erased(request.other_customer_id)
        record = self._merging().merge_customers(customer_id, request.other_customer_id, request.evidence)
        return _merge_view(record)

    def undo_merge(self, merge_id: str) -> UnmergeView:
        record = self._merging().undo_merge(merge_id)
        return UnmergeView(
            merge_id=record.merge_id,
            surviving_customer_id=record.surviving_customer_id,
            restored_customer_id=record.restored_customer_id,
            unmerged_at=record.unmerged_at,
        )

    def _require_not_erased(self, customer_id: str) -> None:
        if self._store.customer_state(customer_id).erased_at is not None:
            raise Gone


def _case_status(change: CaseChange | None) -> CaseStatusView:
    if change is None:
        raise NotFound("case")
    return CaseStatusView(**case_view(change.case).model_dump(), changed=change.changed)


def _merge_view(record: MergeRecord) -> MergeView:
    return MergeView(
        merge_id=record.merge_id,
        surviving_customer_id=record.surviving_customer_id,
        merged_customer_id=record.merged_customer_id,
        evidence=record.evidence,
        merged_at=record.merged_at,
        undone_at=record.undone_at,
    )
