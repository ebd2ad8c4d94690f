"""One person, one phone key: every way a channel writes a number normalizes to the same E.164 value."""

from __future__ import annotations

import pytest

from shared.model import identifiers
from shared.model.contact import Assurance


@pytest.mark.parametrize(
    ("written", "region"),
    [
        ("+5491123456789", "US"),  # international with the mobile 9 (how WhatsApp and libphonenumber write it)
        ("+541123456789", "US"),  # a caller id or an SMS sender
        ("011 15 2345-6789", "AR"),  # national, with the mobile 15 after the area code
        ("11 15 2345 6789", "AR"),
        ("+54 9 11 2345-6789", "GB"),
    ],
)
def test_an_argentine_mobile_is_one_key_however_it_is_written(written: str, region: str) -> None:
    assert identifiers.phone(written, region, Assurance.CHANNEL).value == "+541123456789"


def test_an_argentine_whatsapp_id_links_to_the_number_sms_and_calls_use() -> None:
    assert [i.value for i in identifiers.whatsapp("5491123456789")] == ["5491123456789", "+541123456789"]


def test_a_number_outside_argentina_keeps_its_nine() -> None:
    assert identifiers.phone("+5511987654321", "US", Assurance.CHANNEL).value == "+5511987654321"
    assert identifiers.phone("+5493515551234", "US", Assurance.CHANNEL).value == "+543515551234"  # Córdoba
