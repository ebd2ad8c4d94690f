"""Every key string of the single table is built here and nowhere else."""

from __future__ import annotations

import hashlib
from datetime import datetime

from shared.model.contact import Identifier
from shared.model.times import sortable_time

Key = dict[str, str]


def identifier(ident: Identifier) -> Key:
    return {"PK": f"IDN#{ident.kind.value}#{ident.value}", "SK": "IDN"}


def identifier_hint(ident: Identifier) -> Key:
    return {"PK": f"IDN#{ident.kind.value}#{ident.value}", "SK": "LAST"}


def identifier_dispute(ident: Identifier, customer_id: str) -> Key:
    """A second customer's verified claim on an owned identifier, listed under that customer so erasure finds it."""
    return {"PK": f"IDN#{ident.kind.value}#{ident.value}", "SK": f"{DISPUTE_PREFIX}{customer_id}"}


def disputed_identifier(dispute: Key) -> Key:
    """The identifier item a dispute item is about (they share the partition)."""
    return {"PK": dispute["PK"], "SK": "IDN"}


def profile(customer_id: str) -> Key:
    return {"PK": f"CUS#{customer_id}", "SK": "PROFILE"}


def erasure(customer_id: str) -> Key:
    """The tombstone an erased customer leaves: ids only, so reads answer 410 (docs/api.md)."""
    return {"PK": f"CUS#{customer_id}", "SK": "ERASED"}


def contact(contact_id: str) -> Key:
    return {"PK": f"CON#{contact_id}", "SK": "CON"}


def message(provider: str, provider_message_id: str) -> Key:
    return {"PK": f"MSG#{provider}#{provider_message_id}", "SK": "MSG"}


def erased_message(provider: str, provider_message_id: str) -> Key:
    """What erasure keeps of a message: a hash of its provider id, so a redelivery is recognised, never read."""
    digest = hashlib.sha256(f"{provider}\x1f{provider_message_id}".encode()).hexdigest()
    return {"PK": f"GONE#{digest}", "SK": "GONE"}


def consent(phone: str) -> Key:
    """Whether an SMS number opted out of our messages (STOP) or back in (START)."""
    return {"PK": f"OPT#phone#{phone}", "SK": "OPT"}


def case(case_id: str) -> Key:
    return {"PK": f"CASE#{case_id}", "SK": "CASE"}


def thread(thread_key: str) -> Key:
    return {"PK": f"THR#{thread_key}", "SK": "THR"}


def merge_log(merge_id: str) -> Key:
    return {"PK": f"MERGE#{merge_id}", "SK": "MERGE"}


def suggestion(contact_id: str, claim_key: str) -> Key:
    """One suggested identity link per (contact, claim): a redelivery rewrites the same item."""
    return {"PK": f"{SUGGESTION_PREFIX}{contact_id}#{claim_key}", "SK": "SUG"}


def x_polling_cursor(account_id: str, stream: str) -> Key:
    """Where the X poller stands on one stream (mentions, DM events) of one account."""
    return {"PK": f"{X_POLLING_PREFIX}{account_id}", "SK": f"CURSOR#{stream}"}


def x_polling_auth(account_id: str) -> Key:
    """The token version X refused: polling waits for a new one."""
    return {"PK": f"{X_POLLING_PREFIX}{account_id}", "SK": "AUTH"}


def x_polling_refresh(account_id: str) -> Key:
    """The claim of the one run refreshing the OAuth tokens of a given vault version."""
    return {"PK": f"{X_POLLING_PREFIX}{account_id}", "SK": "REFRESH"}


def x_polling_budget(account_id: str, month: str) -> Key:
    """Requests and billed resources of one calendar month (UTC), counted against the configured caps."""
    return {"PK": f"{X_POLLING_PREFIX}{account_id}", "SK": f"BUDGET#{month}"}


def customer_partition(customer_id: str) -> str:
    return f"CUS#{customer_id}"


def case_partition(case_id: str) -> str:
    return f"CASE#{case_id}"


def timeline_sort(occurred_at: datetime, contact_id: str) -> str:
    return f"C#{sortable_time(occurred_at)}#{contact_id}"


def case_listing_sort(opened_at: datetime, case_id: str) -> str:
    return f"CASE#{sortable_time(opened_at)}#{case_id}"


def identifier_listing_sort(ident: Identifier) -> str:
    return f"IDN#{ident.kind.value}#{ident.value}"


def merge_listing_sort(at: str, merge_id: str) -> str:
    return f"MERGE#{at}#{merge_id}"


SUGGESTION_PREFIX = "SUG#"
X_POLLING_PREFIX = "XPOLL#"
TIMELINE_PREFIX = "C#"
CASE_LISTING_PREFIX = "CASE#"
IDENTIFIER_LISTING_PREFIX = "IDN#"
DISPUTE_PREFIX = "ALSO#"
