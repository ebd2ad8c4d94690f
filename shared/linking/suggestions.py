"""Suggested identity links (DESIGN.md rule 4): what a contact claims about someone, for a person to confirm.

Pure: the processor passes what the first look-up found; the store writes one
item per suggestion, and the table stream turns each into `identity.suggested`.
Nothing here changes who owns what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.model.contact import Assurance, Contact, Identifier
from shared.model.records import Suggestion


def from_claims(contact: Contact, owners: Mapping[str, str]) -> list[Suggestion]:
    """A phone or email typed in the text: suggest it belongs to the sender (naming its owner, if any)."""
    found = []
    for claim in contact.claims:
        identifier = claim.identifier
        if identifier is None:
            continue
        owner = owners.get(identifier.key)
        if owner is not None and owner == contact.customer_id:
            continue  # the sender's own identifier: nothing to suggest
        found.append(
            Suggestion(
                contact_id=contact.contact_id,
                customer_id=contact.customer_id,
                identifier=identifier,
                candidate_customer_id=owner,
                case_id=contact.case_id,
                evidence=f"{claim.kind.value} typed in contact {contact.contact_id}",
            )
        )
    return found


def from_foreign_case(contact: Contact, case_customer: str | None, how: str) -> list[Suggestion]:
    """The sender reached another customer's case (a quoted reference, a reply from another address)."""
    sender = contact.customer_party.primary
    if sender is None or case_customer is None or case_customer == contact.customer_id:
        return []
    identifier = sender.model_copy(update={"assurance": Assurance.CLAIMED})
    return [
        Suggestion(
            contact_id=contact.contact_id,
            customer_id=contact.customer_id,
            identifier=identifier,
            candidate_customer_id=case_customer,
            case_id=contact.case_id,
            evidence=f"{how} of a case of another customer, in contact {contact.contact_id}",
        )
    ]


def from_ambiguity(contact: Contact, candidates: Sequence[tuple[Identifier, str]], why: str) -> list[Suggestion]:
    """A sender attached to no one because an identifier could be several customers': one suggestion each,
    so a person who knows which of them wrote can say so."""
    return [
        Suggestion(
            contact_id=contact.contact_id,
            customer_id=contact.customer_id,
            identifier=identifier.model_copy(update={"assurance": Assurance.CLAIMED}),
            candidate_customer_id=candidate,
            case_id=contact.case_id,
            evidence=f"{why}, in contact {contact.contact_id}",
        )
        for identifier, candidate in candidates
    ]
