"""`threadline send x-*` samples pass the webhook's own signature check and parse as intended."""

from __future__ import annotations

from infra.local.samples import SampleOptions, SignedRequest, samples
from shared.channels import x
from shared.config import get_secret
from shared.model.contact import Direction, Visibility
from tests.builders import PUBLIC_URL, sample_request


def built(name: str, **options: str) -> SignedRequest:
    return samples()[name](SampleOptions(public_url=PUBLIC_URL, **options))


def test_dm_sample_is_signed_and_private() -> None:
    request = sample_request(built("x-dm", text="Where is my parcel?", sender="3805104374"))
    x.verify(request, get_secret("X_CONSUMER_SECRET"))  # raises unless signed as X signs

    [contact] = x.parse(request).contacts
    assert contact.direction is Direction.INBOUND
    assert contact.sender.identifiers[0].value == "3805104374"
    assert (contact.content.text, contact.content.visibility) == ("Where is my parcel?", Visibility.PRIVATE)


def test_outbound_dm_sample_is_from_our_account() -> None:
    [contact] = x.parse(sample_request(built("x-dm", kind="outbound"))).contacts
    assert contact.direction is Direction.OUTBOUND


def test_mention_sample_is_signed_public_and_threadable() -> None:
    request = sample_request(built("x-mention", message_id="1800000000000000001"))
    x.verify(request, get_secret("X_CONSUMER_SECRET"))

    [contact] = x.parse(request).contacts
    assert contact.content.visibility is Visibility.PUBLIC
    assert contact.thread.message_id == "1800000000000000001"
