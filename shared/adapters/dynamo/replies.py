"""The replies' items: the reply (a versioned contact of its case), its look-up keys, and SMS consent.

A reply is a contact like any other (same item, same GSIs, so timelines and
events see it) with a `version`, because the sender and the providers' status
callbacks update its delivery concurrently: every write is conditional on the
version read (docs/data-model.md, "Replies").
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.table import CASE_INDEX
from shared.adapters.dynamo.table_client import Item, dump, is_condition_failure
from shared.model.contact import Channel, Contact, Direction, Identifier
from shared.model.delivery import ConsentChange
from shared.model.records import LinkWrites, VersionedContact
from shared.model.times import sortable_time

LATEST_INBOUND_PAGE = 25  # a case's newest contacts: an agent answers the customer's latest message


class DynamoReplyStore(DynamoStore):
    def latest_inbound(self, case_id: str, channel: Channel | None) -> Contact | None:
        cursor: str | None = None
        for _ in range(4):  # at most 100 contacts back: older messages are not what a reply answers
            items, cursor = self._query(
                CASE_INDEX, keys.case_partition(case_id), keys.TIMELINE_PREFIX, limit=LATEST_INBOUND_PAGE, cursor=cursor
            )
            for item in items:
                if channel is not None and item.get("channel") != channel.value:
                    continue
                contact = Contact.model_validate_json(item["contact"])
                if contact.direction is Direction.INBOUND and not contact.automated:
                    return contact
            if cursor is None:
                return None
        return None

    def identifier_owner(self, identifier: Identifier) -> str | None:
        item = self._get(keys.identifier(identifier))
        return str(item["customer_id"]) if item else None

    def opted_out(self, phone: str) -> bool:
        item = self._get(keys.consent(phone))
        return bool(item and item.get("opted_out"))

    def get_reply(self, contact_id: str) -> VersionedContact | None:
        return self.get_versioned(contact_id)

    def save_reply(self, contact: Contact, writes: LinkWrites) -> None:
        assert contact.customer_id is not None
        assert contact.case_id is not None
        self._batch_put(self._link_items(contact, writes))
        self.put_versioned(contact, None)  # a stored one (a retried request) is left as it is
        self.follow_thread(contact.customer_id, contact.case_id, contact)

    def put_reply(self, contact: Contact, expected_version: int) -> VersionedContact | None:
        return self.put_versioned(contact, expected_version)

    def record_provider_id(self, contact: Contact, provider_message_id: str, thread_key: str | None) -> None:
        items: list[Item] = [
            {**keys.message(contact.provider.value, provider_message_id), "contact_id": contact.contact_id}
        ]
        if thread_key:
            owner = contact.customer_id
            items.append({**keys.thread(thread_key), "case_id": contact.case_id, "customer_id": owner})
        self._batch_put(items)

    def find_reply(self, provider: str, provider_message_id: str) -> str | None:
        return self.find_contact_id(provider, provider_message_id)

    def set_consent(self, change: ConsentChange) -> None:
        at = sortable_time(change.at)
        item = {**keys.consent(change.phone), "opted_out": change.opted_out, "at": at, "reason": change.reason}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=dump(item),
                ConditionExpression="attribute_not_exists(PK) OR #at <= :at",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": {"S": at}},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
