"""Thread keys: the strings under which a case can be found again (DESIGN.md rule 5, first two matches).

A contact *owns* keys that later contacts quote (its email Message-ID, its call
id, its conversation) and *quotes* keys of earlier ones (In-Reply-To,
References, a previous Connect contact, a case reference). Both the rules and
the store build them here, so the table and the rules can never disagree on a key.
"""

from __future__ import annotations

from shared.model import minted
from shared.model.contact import ClaimKind, Contact

MAX_REFERENCE_KEYS = 20  # the newest References of a long email thread are enough
MAX_CASE_REFERENCES = 5  # a contact quoting more case references than this quotes no case in particular
CASE_REFERENCE_KEY_PREFIX = "ref#"


def quoted(contact: Contact) -> tuple[str, ...]:
    """Keys that may already name this contact's case: what it replies to or continues."""
    thread = contact.thread
    keys: list[str] = []
    if thread.in_reply_to:
        keys.append(f"msg#{thread.in_reply_to}")
    keys.extend(f"msg#{reference}" for reference in reversed(thread.references[-MAX_REFERENCE_KEYS:]))
    if thread.call_id:
        keys.append(f"call#{contact.provider.value}#{thread.call_id}")
    for connect_id in (thread.previous_contact_id, thread.initial_contact_id):
        if connect_id:
            keys.append(f"call#{contact.provider.value}#{connect_id}")
    if thread.conversation_id:
        keys.append(f"conv#{contact.provider.value}#{thread.conversation_id}")
    return tuple(dict.fromkeys(keys))


def owned(contact: Contact) -> tuple[str, ...]:
    """Keys later contacts will quote to reach this contact's case."""
    thread = contact.thread
    keys: list[str] = []
    if thread.message_id:
        keys.append(f"msg#{thread.message_id}")
    if thread.call_id:
        keys.append(f"call#{contact.provider.value}#{thread.call_id}")
    if thread.conversation_id:
        keys.append(f"conv#{contact.provider.value}#{thread.conversation_id}")
    return tuple(dict.fromkeys(keys))


def case_reference(reference: str) -> str:
    """The key of a case reference (`TL-…`), written when its case opens."""
    return f"{CASE_REFERENCE_KEY_PREFIX}{reference}"


def is_case_reference(key: str) -> bool:
    return key.startswith(CASE_REFERENCE_KEY_PREFIX)


def quoted_case_references(contact: Contact) -> tuple[str, ...]:
    """Rule 5, second match: the case references the contact quotes, canonical and check-symbol valid."""
    references = (minted.parse_case_reference(c.value) for c in contact.claims if c.kind is ClaimKind.CASE_REFERENCE)
    keys = tuple(dict.fromkeys(case_reference(reference) for reference in references if reference))
    return keys if len(keys) <= MAX_CASE_REFERENCES else ()
