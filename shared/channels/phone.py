"""The party behind a phone address, built one way for calls and SMS alike."""

from __future__ import annotations

from shared.model import identifiers
from shared.model.contact import Assurance, Party
from shared.model.identifiers import InvalidIdentifier, is_withheld


def phone_party(address: str, assurance: Assurance, default_region: str, *, display_name: str | None = None) -> Party:
    """A party with the E.164 number; anonymous for a withheld caller id, a handle for a non-number."""
    if is_withheld(address):
        # Anonymous: no identifier, so the processor looks nobody up and opens a case of its own.
        return Party()
    name = display_name.strip()[:256] if display_name and display_name.strip() else None
    try:
        identifier = identifiers.phone(address, default_region, assurance)
    except InvalidIdentifier:
        # A short code, a SIP or Twilio Client address: not a person's number.
        return Party(handle=address.strip()[:256], display_name=name)
    return Party(identifiers=(identifier,), display_name=name)
