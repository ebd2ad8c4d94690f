"""Verified merges (rule 3): who survives, what never merges, and an undo that restores both exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from shared.adapters.dynamo.contacts import DynamoStore
from shared.config import get_settings
from shared.linking.merging import CustomerMerged, MergeAlreadyUndone, MergeConflict, MergeNotFound, Merging
from shared.linking.processor import ContactProcessor
from shared.model import identifiers
from shared.model.contact import Assurance, Contact, Identifier, IdentifierKind
from tests.builders import sms_contact

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ADA, ADA_WORK = "+14155550123", "+14155550124"
EVIDENCE = "CRM record 0031x00000AbCdE holds both numbers"


def store() -> DynamoStore:
    return DynamoStore(boto3.client("dynamodb"), get_settings().table_name)


def stored(processor: ContactProcessor, contact: Contact) -> Contact:
    processor.process(contact)
    found = store().get_contact(contact.contact_id)
    assert found is not None and found.customer_id
    return found


def two_customers(processor: ContactProcessor) -> tuple[Contact, Contact]:
    return (
        stored(processor, sms_contact("SM1", ADA, at=T0)),
        stored(processor, sms_contact("SM2", ADA_WORK, at=T0 + timedelta(hours=1))),
    )


def identity_items() -> dict[tuple[str, str], dict[str, Any]]:
    """Every profile, identifier and case item, as stored: what an undo must give back exactly."""
    table = boto3.resource("dynamodb").Table(get_settings().table_name)
    items = table.scan()["Items"]
    return {(str(i["PK"]), str(i["SK"])): i for i in items if i["SK"] in ("PROFILE", "IDN", "CASE")}


def crm(value: str) -> Identifier:
    return identifiers.account(IdentifierKind.CRM, value)


def app_account(value: str) -> Identifier:
    return identifiers.account(IdentifierKind.APP, value)


def test_merge_keeps_the_older_customer_whatever_order_they_are_named(world: tuple[ContactProcessor, Merging]) -> None:
    processor, merging = world
    older, newer = two_customers(processor)

    record = merging.merge_customers(newer.customer_id or "", older.customer_id or "", EVIDENCE)

    assert (record.surviving_customer_id, record.merged_customer_id) == (older.customer_id, newer.customer_id)
    assert merging.resolve_customer_id(newer.customer_id or "") == (older.customer_id, True)
    owner = store().find_identity(identifiers.phone(ADA_WORK, "US", Assurance.CHANNEL))
    assert owner is not None and owner.customer_id == older.customer_id


def test_merge_keeps_both_open_cases_the_more_recently_active_one_active_the_other_related(
    world: tuple[ContactProcessor, Merging],
) -> None:
    processor, merging = world
    older, newer = two_customers(processor)  # the newer customer's case was active an hour later

    merging.merge_customers(older.customer_id or "", newer.customer_id or "", EVIDENCE)

    survivor = store().get_customer(older.customer_id or "")
    assert survivor is not None and survivor.active_case_id == newer.case_id
    assert survivor.active_case_at == newer.occurred_at  # a merge never moves a case's activity time
    related = store().get_case(older.case_id or "")
    assert related is not None and related.related_case_id == newer.case_id and related.status.value == "open"


def test_a_case_outside_the_reopen_window_does_not_come_back_to_life_after_a_merge(
    world: tuple[ContactProcessor, Merging],
) -> None:
    processor, merging = world
    stale = stored(processor, sms_contact("SM1", ADA, at=T0))
    today = stored(processor, sms_contact("SM2", ADA_WORK, at=T0 + timedelta(days=9)))
    merging.merge_customers(stale.customer_id or "", today.customer_id or "", EVIDENCE)

    later = stored(processor, sms_contact("SM3", ADA, at=T0 + timedelta(days=9, hours=1)))

    assert (later.customer_id, later.case_id) == (stale.customer_id, today.case_id)


def test_an_sms_from_the_merged_customers_phone_lands_on_the_survivors_active_case(
    world: tuple[ContactProcessor, Merging],
) -> None:
    processor, merging = world
    older, newer = two_customers(processor)
    merging.merge_customers(older.customer_id or "", newer.customer_id or "", EVIDENCE)

    later = stored(processor, sms_contact("SM3", ADA_WORK, at=T0 + timedelta(hours=2)))

    assert (later.customer_id, later.case_id) == (older.customer_id, newer.case_id)


def test_two_different_crm_ids_never_merge(world: tuple[ContactProcessor, Merging]) -> None:
    processor, merging = world
    first, second = two_customers(processor)
    merging.attach_verified_identifier(first.customer_id or "", crm("0031x01"), "CRM sync")
    merging.attach_verified_identifier(second.customer_id or "", crm("0031x02"), "CRM sync")

    with pytest.raises(MergeConflict):
        merging.merge_customers(first.customer_id or "", second.customer_id or "", EVIDENCE)
    # nor through a verified phone the CRM attaches: the phone is contested instead
    attached = merging.attach_verified_identifier(
        first.customer_id or "", identifiers.phone(ADA_WORK, "US", Assurance.VERIFIED), "CRM sync"
    )
    assert attached.contested and attached.merge is None
    assert merging.resolve_customer_id(second.customer_id or "") == (second.customer_id, False)


def test_two_different_app_ids_never_merge(world: tuple[ContactProcessor, Merging]) -> None:
    processor, merging = world
    first, second = two_customers(processor)
    merging.attach_verified_identifier(first.customer_id or "", app_account("acct_1"), "app login")
    merging.attach_verified_identifier(second.customer_id or "", app_account("acct_2"), "app login")

    with pytest.raises(MergeConflict):
        merging.merge_customers(second.customer_id or "", first.customer_id or "", EVIDENCE)


def test_attaching_a_verified_phone_owned_by_another_customer_merges_them(
    world: tuple[ContactProcessor, Merging],
) -> None:
    processor, merging = world
    older, newer = two_customers(processor)

    result = merging.attach_verified_identifier(
        newer.customer_id or "", identifiers.phone(ADA, "US", Assurance.VERIFIED), EVIDENCE
    )

    assert result.merge is not None and result.customer_id == older.customer_id
    owner = store().find_identity(identifiers.phone(ADA, "US", Assurance.VERIFIED))
    assert owner is not None and owner.assurance is Assurance.VERIFIED


def test_merging_a_merged_id_names_its_survivor(world: tuple[ContactProcessor, Merging]) -> None:
    processor, merging = world
    older, newer = two_customers(processor)
    merging.merge_customers(older.customer_id or "", newer.customer_id or "", EVIDENCE)

    with pytest.raises(CustomerMerged) as raised:
        merging.merge_customers(newer.customer_id or "", older.customer_id or "", EVIDENCE)
    assert raised.value.survivor_id == older.customer_id


def test_undo_restores_both_customers_exactly(world: tuple[ContactProcessor, Merging]) -> None:
    # Given two customers, one with a CRM id, each with an open case
    processor, merging = world
    older, newer = two_customers(processor)
    merging.attach_verified_identifier(newer.customer_id or "", crm("0031x02"), "CRM sync")
    before = identity_items()

    # When they are merged and the merge is undone
    record = merging.merge_customers(older.customer_id or "", newer.customer_id or "", EVIDENCE)
    assert identity_items() != before
    merging.undo_merge(record.merge_id)

    # Then profiles, identifiers (owners and assurance), active cases and the related mark are as before
    assert identity_items() == before
    assert merging.resolve_customer_id(newer.customer_id or "") == (newer.customer_id, False)
    assert merging.get_merge(record.merge_id).undone_at is not None


def test_undoing_twice_is_refused_and_changes_nothing(world: tuple[ContactProcessor, Merging]) -> None:
    processor, merging = world
    older, newer = two_customers(processor)
    record = merging.merge_customers(older.customer_id or "", newer.customer_id or "", EVIDENCE)
    merging.undo_merge(record.merge_id)
    after_undo = identity_items()

    with pytest.raises(MergeAlreadyUndone):
        merging.undo_merge(record.merge_id)
    assert identity_items() == after_undo


def test_undoing_an_unknown_merge_is_not_found(world: tuple[ContactProcessor, Merging]) -> None:
    _, merging = world
    with pytest.raises(MergeNotFound):
        merging.undo_merge("mrg_00000000000000000000")


def test_contacts_stored_while_merged_stay_reachable_after_undo(world: tuple[ContactProcessor, Merging]) -> None:
    processor, merging = world
    older, newer = two_customers(processor)
    record = merging.merge_customers(older.customer_id or "", newer.customer_id or "", EVIDENCE)
    during = stored(processor, sms_contact("SM3", ADA_WORK, at=T0 + timedelta(hours=2)))
    merging.undo_merge(record.merge_id)

    after = stored(processor, sms_contact("SM4", ADA_WORK, at=T0 + timedelta(hours=3)))

    assert during.customer_id == older.customer_id  # landed on the survivor, and stays there
    assert after.customer_id == newer.customer_id  # the phone went back with its customer
