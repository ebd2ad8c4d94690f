"""A phone two verified accounts hold (recycled or shared) finds neither of them (issue 13, class 5).

Rule 2: an identifier held by two profiles attaches to neither automatically, so an
agent never reads one person's history to the other. The contact gets no customer,
its link says why, and an `identity.suggested` names each candidate.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.admin import AdminStore
from shared.adapters.dynamo.contacts import DynamoStore
from shared.channels import app
from shared.config import get_settings
from shared.linking.merging import Merging
from shared.linking.processor import ContactProcessor, ProcessResult
from shared.model import identifiers
from shared.model.contact import Assurance, Contact, IdentifierKind
from tests.builders import FakeContext, api_event, app_login, json_request, sms_contact, whatsapp_contact

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FAMILY_PHONE = "+14155550123"
PHONE = identifiers.phone(FAMILY_PHONE, "US", Assurance.VERIFIED)


def store() -> DynamoStore:
    return DynamoStore(boto3.client("dynamodb"), get_settings().table_name)


def login(processor: ContactProcessor, account: str, event_id: str, at: datetime) -> Contact:
    [contact] = app.parse(
        json_request(app_login(account, FAMILY_PHONE, event_id, at), "/webhooks/app"), default_region="US"
    )
    processor.process(contact)
    stored = store().get_contact(contact.contact_id)
    assert stored is not None and stored.customer_id
    return stored


def text(processor: ContactProcessor, sid: str, at: datetime) -> tuple[Contact, ProcessResult]:
    result = processor.process(sms_contact(sid, FAMILY_PHONE, at=at))
    stored = store().get_contact(result.contact_id)
    assert stored is not None
    return stored, result


def suggested_candidates(contact: Contact) -> set[str]:
    table = boto3.resource("dynamodb").Table(get_settings().table_name)
    prefix = f"{keys.SUGGESTION_PREFIX}{contact.contact_id}#"
    items = table.scan()["Items"]
    return {str(i["candidate_customer_id"]) for i in items if str(i["PK"]).startswith(prefix)}


def test_a_phone_two_app_accounts_verified_finds_neither_and_suggests_both(
    world: tuple[ContactProcessor, Merging],
) -> None:
    processor, _ = world
    parent = login(processor, "acct_parent", "evt_1", T0)
    child = login(processor, "acct_child", "evt_2", T0 + timedelta(hours=1))
    assert child.customer_id != parent.customer_id

    sms, result = text(processor, "SM1", T0 + timedelta(hours=2))

    assert sms.customer_id is None and result.ambiguous
    assert sms.case_id not in (parent.case_id, child.case_id)
    assert sms.link is not None and "phone verified by several customers" in sms.link.customer_evidence
    assert suggested_candidates(sms) == {parent.customer_id, child.customer_id}


def test_whatsapp_from_a_phone_two_accounts_verified_finds_neither(world: tuple[ContactProcessor, Merging]) -> None:
    processor, _ = world
    parent = login(processor, "acct_parent", "evt_1", T0)
    child = login(processor, "acct_child", "evt_2", T0 + timedelta(hours=1))
    whatsapp = whatsapp_contact("wamid.1", FAMILY_PHONE.lstrip("+"), at=T0 + timedelta(hours=2))

    result = processor.process(whatsapp)

    stored = store().get_contact(whatsapp.contact_id)
    assert stored is not None and stored.customer_id is None and result.ambiguous
    assert suggested_candidates(stored) == {parent.customer_id, child.customer_id}


def test_each_account_still_finds_itself_by_its_app_id(world: tuple[ContactProcessor, Merging]) -> None:
    processor, _ = world
    parent = login(processor, "acct_parent", "evt_1", T0)
    child = login(processor, "acct_child", "evt_2", T0 + timedelta(hours=1))

    assert login(processor, "acct_parent", "evt_3", T0 + timedelta(hours=2)).customer_id == parent.customer_id
    assert login(processor, "acct_child", "evt_4", T0 + timedelta(hours=3)).customer_id == child.customer_id
    owner = store().find_identity(PHONE)
    assert owner is not None and owner.customer_id == parent.customer_id  # contested, never moved


def test_the_crm_vouching_for_the_owner_settles_the_dispute(world: tuple[ContactProcessor, Merging]) -> None:
    processor, merging = world
    parent = login(processor, "acct_parent", "evt_1", T0)
    login(processor, "acct_child", "evt_2", T0 + timedelta(hours=1))
    assert parent.customer_id is not None

    merging.attach_verified_identifier(parent.customer_id, PHONE, "CRM: the parent's line")
    sms, result = text(processor, "SM1", T0 + timedelta(hours=2))

    assert (sms.customer_id, sms.case_id) == (parent.customer_id, parent.case_id) and not result.ambiguous


def test_a_crm_attach_to_another_account_contests_instead_of_merging(world: tuple[ContactProcessor, Merging]) -> None:
    processor, merging = world
    first, _ = text(processor, "SM1", T0)
    other = processor.process(sms_contact("SM2", "+14155550124", at=T0 + timedelta(hours=1)))
    assert first.customer_id is not None
    other_id = store().get_contact(other.contact_id).customer_id  # type: ignore[union-attr]
    assert other_id is not None
    merging.attach_verified_identifier(first.customer_id, identifiers.account(IdentifierKind.CRM, "0031x01"), "CRM")
    merging.attach_verified_identifier(other_id, identifiers.account(IdentifierKind.CRM, "0031x02"), "CRM")

    result = merging.attach_verified_identifier(other_id, PHONE, "CRM says this is their number")

    assert result.contested and not result.attached and result.merge is None
    assert result.customer_id == first.customer_id  # the owner, unchanged
    assert merging.resolve_customer_id(other_id) == (other_id, False)
    later, outcome = text(processor, "SM3", T0 + timedelta(hours=2))
    assert later.customer_id is None and outcome.ambiguous
    assert suggested_candidates(later) == {first.customer_id, other_id}


def test_erasing_the_contesting_customer_gives_the_phone_back_to_its_owner(
    world: tuple[ContactProcessor, Merging],
) -> None:
    processor, _ = world
    parent = login(processor, "acct_parent", "evt_1", T0)
    child = login(processor, "acct_child", "evt_2", T0 + timedelta(hours=1))
    assert child.customer_id is not None
    admin = AdminStore(boto3.client("dynamodb"), get_settings().table_name)

    admin.erase_customer(child.customer_id, T0 + timedelta(days=1))
    sms, result = text(processor, "SM1", T0 + timedelta(hours=2))

    assert sms.customer_id == parent.customer_id and not result.ambiguous


def phone_as_the_api_lists_it(customer_id: str | None = None) -> dict[str, Any]:
    """The phone on the customer `GET /v1/customers?identifier=` finds (or on the one named)."""
    from functions.api.handler import lambda_handler as api

    if customer_id is None:
        response = api(api_event("GET", "/v1/customers", query={"identifier": f"phone:{FAMILY_PHONE}"}), FakeContext())
        (customer,) = json.loads(response["body"])["items"]
    else:
        customer = json.loads(api(api_event("GET", f"/v1/customers/{customer_id}"), FakeContext())["body"])
    (phone,) = [i for i in customer["identifiers"] if i["kind"] == "phone"]
    return {"customer_id": customer["customer_id"], **phone}


def test_the_api_shows_who_contests_a_phone_until_the_crm_settles_it(world: tuple[ContactProcessor, Merging]) -> None:
    processor, merging = world
    parent = login(processor, "acct_parent", "evt_1", T0)
    child = login(processor, "acct_child", "evt_2", T0 + timedelta(hours=1))
    assert parent.customer_id is not None

    contested = phone_as_the_api_lists_it()
    merging.attach_verified_identifier(parent.customer_id, PHONE, "CRM: the parent's line")
    settled = phone_as_the_api_lists_it(parent.customer_id)

    assert (contested["customer_id"], contested["contested_with"]) == (parent.customer_id, [child.customer_id])
    assert (settled["customer_id"], settled["contested_with"]) == (parent.customer_id, [])
