"""`threadline send meta-*` samples pass the webhook's own signature check and parse as intended."""

from __future__ import annotations

import pytest

from infra.local.samples import SampleOptions, SignedRequest, samples
from shared.channels import meta
from shared.config import get_secret
from shared.model.contact import Channel, Direction
from tests.builders import PUBLIC_URL, json_request, sample_request


def built(name: str, **options: str) -> SignedRequest:
    return samples()[name](SampleOptions(public_url=PUBLIC_URL, **options))


@pytest.mark.parametrize(
    ("name", "channel"),
    [("meta-messenger", Channel.MESSENGER), ("meta-instagram", Channel.INSTAGRAM), ("meta-whatsapp", Channel.WHATSAPP)],
)
def test_each_meta_sample_is_signed_and_parses_into_one_inbound_contact(name: str, channel: Channel) -> None:
    request = sample_request(built(name, text="Where is my parcel?", message_id="sample-1"))
    meta.verify(request, get_secret("META_APP_SECRET"))  # raises unless signed as Meta signs

    [contact] = meta.parse(request).contacts
    assert (contact.channel, contact.direction) == (channel, Direction.INBOUND)
    assert (contact.provider_message_id, contact.content.text) == ("sample-1", "Where is my parcel?")


def test_messenger_echo_sample_is_outbound() -> None:
    [contact] = meta.parse(json_request(built("meta-messenger", kind="echo").body)).contacts
    assert contact.direction is Direction.OUTBOUND


def test_whatsapp_sample_sender_is_the_given_phone() -> None:
    [contact] = meta.parse(json_request(built("meta-whatsapp", sender="+14155550188").body)).contacts
    assert [i.value for i in contact.sender.identifiers] == ["14155550188", "+14155550188"]


def test_whatsapp_status_sample_is_a_delivery_report_not_a_contact() -> None:
    batch = meta.parse(json_request(built("meta-whatsapp", kind="status").body))
    assert batch.contacts == []
    assert [report.status.value for report in batch.reports] == ["delivered"]


def test_an_unknown_kind_is_refused_with_the_kinds_there_are() -> None:
    with pytest.raises(ValueError, match="echo"):
        built("meta-messenger", kind="sticker")
