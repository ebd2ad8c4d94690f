"""SMS consent keywords: an inbound STOP opts the number out of our replies, START opts it back in. Pure.

A keyword is the whole message, trimmed and in any case, as carriers and
Twilio's Advanced Opt-Out read it (`stop` is one; `please stop calling` is
not). Twilio and End User Messaging answer the keyword themselves; this only
tells the sender to refuse replies (422 `recipient_opted_out`) until START.
"""

from __future__ import annotations

from shared.model.contact import Channel, Contact, Direction, IdentifierKind
from shared.model.delivery import ConsentChange

# Twilio's default opt-out and opt-in keywords (End User Messaging's defaults are among them).
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
SMS_CHANNELS = frozenset({Channel.SMS, Channel.MMS})


def consent_change(contact: Contact) -> ConsentChange | None:
    if contact.channel not in SMS_CHANNELS or contact.direction is not Direction.INBOUND:
        return None
    keyword = (contact.content.text or "").strip().upper()
    if keyword not in OPT_OUT and keyword not in OPT_IN:
        return None
    phone = next((i.value for i in contact.sender.identifiers if i.kind is IdentifierKind.PHONE), None)
    if phone is None:
        return None
    return ConsentChange(phone=phone, opted_out=keyword in OPT_OUT, at=contact.occurred_at, reason=keyword)
