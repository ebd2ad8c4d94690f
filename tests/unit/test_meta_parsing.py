"""Meta payloads → contacts: Messenger, Instagram and WhatsApp, every message type, pure (no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.channels import meta
from shared.channels.payloads import ParsedBatch
from shared.ingest.errors import MalformedPayload
from shared.model.contact import AttachmentType, Channel, Direction, IdentifierKind, Provider, Visibility
from tests.builders import event_fixture, json_request

PAGE = "104918573726198"
PSID = "6745183492837465"


def parse(name: str) -> ParsedBatch:
    return meta.parse(json_request(event_fixture("meta", name)))


def test_messenger_text_is_an_inbound_contact_keyed_by_page_and_psid() -> None:
    batch = parse("messenger_text.json")

    [contact] = batch.contacts
    assert contact.channel is Channel.MESSENGER
    assert contact.provider is Provider.META
    assert contact.direction is Direction.INBOUND
    assert contact.provider_message_id.startswith("m_Xy2CbQwV7")
    assert contact.occurred_at == datetime(2024, 6, 10, 9, 57, 17, 512000, tzinfo=UTC)
    [sender] = contact.sender.identifiers
    assert (sender.kind, sender.value) == (IdentifierKind.MESSENGER, f"{PAGE}:{PSID}")
    assert contact.recipient.handle == PAGE
    assert contact.content.text == "Hi, my order #48213 has not arrived yet."
    assert contact.content.visibility is Visibility.PRIVATE
    assert not batch.ignored
    assert not batch.skipped


def test_quick_reply_keeps_the_text_the_person_tapped() -> None:
    [contact] = parse("messenger_quick_reply.json").contacts
    assert contact.content.text == "Track my order"


def test_every_messenger_attachment_type_is_kept_with_its_url() -> None:
    [contact] = parse("messenger_attachments.json").contacts

    assert contact.content.text is None
    assert [a.type for a in contact.content.attachments] == [
        AttachmentType.IMAGE,
        AttachmentType.AUDIO,
        AttachmentType.VIDEO,
        AttachmentType.FILE,
        AttachmentType.IMAGE,  # a sticker
    ]
    assert all(a.url and a.url.startswith("https://") for a in contact.content.attachments)


def test_location_becomes_a_geo_uri_and_a_shared_link_a_fallback_attachment() -> None:
    location, shared_link = parse("messenger_location_fallback.json").contacts

    [pin] = location.content.attachments
    assert (pin.type, pin.url, pin.name) == (AttachmentType.LOCATION, "geo:52.52,13.405", "Pinned Location")
    [link] = shared_link.content.attachments
    assert (link.type, link.url) == (AttachmentType.OTHER, "https://shop.example.com/orders/48213")
    assert link.name == "Order 48213 - Example Shop"


def test_postback_is_the_button_title_and_a_referral_an_empty_opening_contact() -> None:
    postback, referral = parse("messenger_postback_referral.json").contacts

    assert postback.content.text == "Talk to an agent"
    assert postback.content.status == "postback"
    assert postback.provider_message_id.startswith("m_P0sTbAcK")
    assert referral.content.status == "referral"
    assert referral.content.text is None
    assert referral.provider_message_id == f"referral:{PAGE}:{PSID}:1718013901733"
    assert referral.direction is Direction.INBOUND


def test_echo_is_outbound_with_the_customer_as_recipient_and_not_automated() -> None:
    [echo] = parse("messenger_echo.json").contacts

    assert echo.direction is Direction.OUTBOUND
    assert echo.customer_party.identifiers[0].value == f"{PAGE}:{PSID}"
    assert echo.sender.handle == PAGE
    # A human agent answering from the inbox is not an auto-reply; outbound alone keeps it from opening a case.
    assert echo.automated is False


def test_a_delivery_reports_each_message_and_read_and_reactions_are_counted() -> None:
    batch = parse("messenger_receipts.json")

    assert batch.contacts == []
    assert batch.ignored == {"messenger.read": 1, "messenger.reaction": 1}
    (report,) = batch.reports
    assert report.provider_message_id.startswith("m_Ech0")  # type: ignore[union-attr]
    assert report.status.value == "delivered"


def test_bad_items_are_skipped_and_counted_without_dropping_the_others() -> None:
    batch = parse("messenger_batch.json")

    texts = [contact.content.text for contact in batch.contacts]
    assert texts == ["First message", "Hello from the inbox-owned thread", "Same person, second page"]
    assert batch.skipped == {
        "messenger.message: invalid message.mid": 1,
        "messenger.message: invalid timestamp": 1,  # 1e20 is not even an integer pydantic accepts
        "messenger.entry: invalid id": 1,
    }
    assert batch.ignored == {"messenger.message_edit": 1}


def test_the_same_person_on_two_pages_is_two_identifiers() -> None:
    batch = parse("messenger_batch.json")
    values = {
        contact.sender.identifiers[0].value
        for contact in batch.contacts
        if contact.content.text != "Hello from the inbox-owned thread"
    }
    assert values == {f"{PAGE}:{PSID}", f"221876540093152:{PSID}"}


def test_skip_reasons_never_quote_the_payload() -> None:
    batch = parse("messenger_batch.json")
    assert not any("1e+20" in reason or "100000000000000000000" in reason for reason in batch.skipped)


def test_instagram_messages_echoes_and_unsends() -> None:
    batch = parse("instagram_messages.json")

    inbound, echo = batch.contacts
    assert {inbound.channel, echo.channel} == {Channel.INSTAGRAM}
    assert inbound.sender.identifiers[0].kind is IdentifierKind.INSTAGRAM
    assert inbound.sender.identifiers[0].value == "17841405309211844:5347283912873645"
    assert inbound.content.text == "Do you ship to Canada?"
    assert inbound.content.attachments[0].type is AttachmentType.IMAGE
    assert echo.direction is Direction.OUTBOUND
    assert echo.customer_party.identifiers == inbound.sender.identifiers
    assert batch.ignored == {"instagram.message_deleted": 1, "instagram.read": 1, "instagram.change.comments": 1}


WA_BUSINESS = "+14155559999"


def test_whatsapp_text_sender_has_wa_id_then_phone_and_the_profile_name() -> None:
    [contact] = parse("whatsapp_text.json").contacts

    assert contact.channel is Channel.WHATSAPP
    assert contact.provider_message_id.startswith("wamid.HBgLMTQxNTU1NTAxMjMV")
    assert contact.occurred_at == datetime(2024, 6, 10, 10, 40, tzinfo=UTC)
    assert [(i.kind, i.value) for i in contact.sender.identifiers] == [
        (IdentifierKind.WHATSAPP, "14155550123"),
        (IdentifierKind.PHONE, "+14155550123"),
    ]
    assert contact.sender.display_name == "Ann Lee"
    assert [i.value for i in contact.recipient.identifiers] == [WA_BUSINESS]
    assert contact.recipient.handle == "106540352242922"
    assert contact.content.text == "Hi, it's Ann again. Any news on order #48213?"


def test_whatsapp_media_keeps_media_id_mime_type_caption_and_file_name() -> None:
    image, audio, video, document, sticker = parse("whatsapp_media.json").contacts

    assert image.content.text == "The box arrived like this"
    [photo] = image.content.attachments
    assert (photo.type, photo.content_id, photo.content_type) == (
        AttachmentType.IMAGE,
        "1179443829871234",
        "image/jpeg",
    )
    assert audio.content.attachments[0].type is AttachmentType.AUDIO
    assert audio.content.attachments[0].content_type == "audio/ogg; codecs=opus"
    assert video.content.attachments[0].type is AttachmentType.VIDEO
    assert document.content.text == "My receipt"
    assert (document.content.attachments[0].type, document.content.attachments[0].name) == (
        AttachmentType.FILE,
        "receipt-48213.pdf",
    )
    assert sticker.content.attachments[0].type is AttachmentType.IMAGE
    assert sticker.content.attachments[0].url is None  # fetched by id from the Graph API


def test_whatsapp_location_and_interactive_and_button_replies() -> None:
    location, button_reply, list_reply, button = parse("whatsapp_replies.json").contacts

    [pin] = location.content.attachments
    assert (pin.type, pin.url, pin.name) == (AttachmentType.LOCATION, "geo:37.7793,-122.4193", "City Hall")
    assert (button_reply.content.text, button_reply.content.status) == ("Reschedule delivery", "interactive")
    assert list_reply.content.text == "Tuesday morning"
    assert (button.content.text, button.content.status) == ("Yes, confirm", "button")


def test_whatsapp_statuses_are_delivery_reports_not_contacts() -> None:
    batch = parse("whatsapp_statuses.json")
    assert batch.contacts == []
    assert batch.ignored == {}
    assert [(r.status.value, r.provider_message_id[:6]) for r in batch.reports] == [  # type: ignore[index]
        ("delivered", "wamid."),
        ("read", "wamid."),
    ]


def test_whatsapp_batch_skips_bad_messages_and_ignores_other_types_and_fields() -> None:
    batch = parse("whatsapp_batch.json")

    assert [contact.provider_message_id for contact in batch.contacts] == [
        "wamid.BATCH1",
        "wamid.BATCH6",
        "wamid.BATCH7",
    ]
    assert batch.skipped == {
        "whatsapp.message.text: timestamp is out of range": 1,
        "whatsapp.message.text: invalid id": 1,
        "whatsapp.message.image: image is missing": 1,
    }
    assert batch.ignored == {
        "whatsapp.message.reaction": 1,
        "whatsapp.message.unsupported": 1,
        "whatsapp.message_template_status_update": 1,
    }


def test_formatted_business_number_still_becomes_e164() -> None:
    contact = parse("whatsapp_batch.json").contacts[0]
    assert [i.value for i in contact.recipient.identifiers] == [WA_BUSINESS]


@pytest.mark.parametrize(
    ("wa_id", "phone"),
    [
        ("551187654321", "+5511987654321"),  # Brazil: WhatsApp kept the mobile without its ninth digit
        ("5215512345678", "+525512345678"),  # Mexico: WhatsApp kept the mobile "1" SMS no longer dials
    ],
)
def test_legacy_whatsapp_ids_still_link_to_the_number_sms_and_calls_use(wa_id: str, phone: str) -> None:
    contact = next(c for c in parse("whatsapp_batch.json").contacts if c.sender.identifiers[0].value == wa_id)
    assert [i.value for i in contact.sender.identifiers] == [wa_id, phone]


def test_unknown_object_is_acknowledged_and_counted() -> None:
    body = json.dumps({"object": "user", "entry": [{"id": "1", "changed_fields": ["email"], "time": 1}]}).encode()
    batch = meta.parse(json_request(body))
    assert batch.contacts == []
    assert batch.ignored == {"meta.user": 1}


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"object": "page"}', b'{"entry": []}', b"\xff\xfe"])
def test_a_body_that_is_not_a_meta_envelope_is_malformed(body: bytes) -> None:
    with pytest.raises((MalformedPayload, ValueError)):
        meta.parse(json_request(body))
