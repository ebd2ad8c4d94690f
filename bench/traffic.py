"""Synthetic inbound Twilio SMS/MMS traffic, parsed by the real Twilio parser.

Contacts are shaped exactly as production makes them (`shared.channels.twilio_sms.parse`
over a Twilio-shaped form); only the clock is simulated, so the reopen window applies
as it would over weeks of traffic. Numbers are random valid US numbers, texts are canned.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from enum import Enum
from urllib.parse import urlencode

from shared.channels import twilio_sms
from shared.ingest.request import WebhookRequest
from shared.model.contact import Contact

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PATH = "/webhooks/twilio/sms"
PUBLIC_URL = "https://hooks.example.com"
BUSINESS_NUMBER = "+14155559999"
ACCOUNT_SID = "AC" + "1" * 32
AREA_CODES = (206, 212, 303, 312, 404, 415, 503, 512, 617, 702)
TEXTS = (
    "Hi, my order has not arrived yet",
    "Any update on this?",
    "Thanks, that worked",
    "Can I change the delivery address?",
    "It is still not working after the restart",
    "Here is a photo of the damaged box",
    "Please call me back when you can",
)
MMS_SHARE = 0.1
CONVERSATION_SPAN = 50  # "a customer continuing a case" is one of the 50 most recently active
RETRIED_SPAN = 500  # Twilio retries a webhook soon after it first sent it, so pick among recent ones


class Kind(Enum):
    """What kind of contact a sample is, as the processor will see it."""

    CONTINUING = "known customer, open case"
    NEW_CUSTOMER = "new customer"
    DUPLICATE = "duplicate (redelivery)"


class Traffic:
    """One business's inbound SMS: its customers, when each was last active, and a clock."""

    def __init__(self, seed: int, *, reopen_window: timedelta, start: datetime = START) -> None:
        self._random = random.Random(seed)
        self._window = reopen_window
        self.clock = start
        self._numbers: set[str] = set()
        # Insertion order is activity order: a number is moved to the end on every contact.
        self._last_seen: dict[str, datetime] = {}
        self._customers: list[str] = []
        self._sent: list[list[tuple[str, str]]] = []

    @property
    def customers(self) -> int:
        return len(self._customers)

    def advance(self, step: timedelta) -> None:
        self.clock += step

    def history(self) -> Contact:
        """A contact of the seeded past: new and returning customers, now and then a retry."""
        roll = self._random.random()
        if roll < 0.35 or not self._customers:
            return self.contact(Kind.NEW_CUSTOMER)
        if roll < 0.65:
            return self.contact(Kind.CONTINUING)
        if roll < 0.95:
            # A customer coming back after a while: within the window or, often, past it.
            return self._message(self._random.choice(self._customers))
        return self.contact(Kind.DUPLICATE)

    def contact(self, kind: Kind) -> Contact:
        if kind is Kind.NEW_CUSTOMER or not self._customers:
            return self._message(self._new_number())
        if kind is Kind.DUPLICATE:
            return self._parse(self._random.choice(self._sent[-RETRIED_SPAN:]))
        return self._message(self._random.choice(self._in_conversation()))

    def latest_customer_again(self) -> Contact:
        """The most recently active customer writes again, however long ago that was."""
        return self._message(next(reversed(self._last_seen)))

    def _in_conversation(self) -> list[str]:
        recent = itertools.islice(reversed(self._last_seen.items()), CONVERSATION_SPAN)
        in_window = [number for number, seen in recent if seen > self.clock - self._window]
        if not in_window:
            raise RuntimeError("no customer is active in the reopen window; seed more contacts")
        return in_window

    def _new_number(self) -> str:
        while True:
            area = self._random.choice(AREA_CODES)
            number = f"+1{area}{self._random.randrange(200, 1000)}{self._random.randrange(10_000):04d}"
            if number not in self._numbers:
                self._numbers.add(number)
                self._customers.append(number)
                return number

    def _message(self, number: str) -> Contact:
        sid = f"SM{self._random.getrandbits(128):032x}"
        form = [
            ("ToCountry", "US"),
            ("SmsMessageSid", sid),
            ("NumMedia", "0"),
            ("SmsSid", sid),
            ("SmsStatus", "received"),
            ("Body", self._random.choice(TEXTS)),
            ("To", BUSINESS_NUMBER),
            ("FromCountry", "US"),
            ("NumSegments", "1"),
            ("MessageSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", number),
            ("ApiVersion", "2010-04-01"),
        ]
        if self._random.random() < MMS_SHARE:
            media = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media/ME{sid[2:]}"
            form[2] = ("NumMedia", "1")
            form += [("MediaContentType0", "image/jpeg"), ("MediaUrl0", media)]
        self._last_seen.pop(number, None)
        self._last_seen[number] = self.clock
        self._sent.append(form)
        return self._parse(form)

    def _parse(self, form: list[tuple[str, str]]) -> Contact:
        request = WebhookRequest(
            method="POST",
            path=PATH,
            raw_query="",
            headers={"content-type": "application/x-www-form-urlencoded"},
            query={},
            body=urlencode(form).encode(),
            public_url=PUBLIC_URL + PATH,
            received_at=self.clock,
        )
        (contact,) = twilio_sms.parse(request, default_region="US")
        return contact
