"""The steps of a journey (journeys/*.toml): strict models, one per kind of call a step makes.

Each step says when it happens (`at`), when it reaches Threadline if that is
later (`arrives`: a provider's retry, a redrive), what it sends and which
earlier steps it names; `tools.journeys.suite` checks a journey's steps
against each other.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

LABEL = r"^[a-z][a-z0-9_]{0,31}$"
_DURATION_PART = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
PLACEHOLDER = re.compile(r"\{([a-z-]+):([a-z0-9_-]+)\}")
PLACEHOLDER_KINDS = frozenset({"ref", "ref-typo", "phone", "email"})
# How far before the journey's last moment a step may lie and still be replayed at its time:
# channels without a provider timestamp happen when they are sent; an email's Date header
# is trusted only for a few days (shared.channels.email.contacts.DATE_MAX_AGE).
LIVE_SLACK = timedelta(hours=1)
EMAIL_HORIZON = timedelta(days=2)


def parse_duration(text: str) -> timedelta:
    """`"0m"`, `"90s"`, `"2h"`, `"1d 4h 30m"` → a timedelta; anything else is an error."""
    compact = text.strip()
    parts = _DURATION_PART.findall(compact)
    if not parts or _DURATION_PART.sub("", compact).strip():
        raise ValueError(f"not a duration like '2h' or '1d 4h': {text!r}")
    return timedelta(**{_UNITS[unit]: int(value) for value, unit in parts})


def _duration(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_duration)]
Label = Annotated[str, Field(pattern=LABEL)]
# `kind:token`: a token names one identifier of the journey, mapped to a unique value at replay.
Sender = Annotated[str, Field(pattern=r"^(phone|email|messenger|instagram|x|app|crm):[a-z0-9][a-z0-9_-]{0,31}$")]
PhoneOrWithheld = Annotated[str, Field(pattern=r"^(phone:[a-z0-9][a-z0-9_-]{0,31}|withheld)$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Step(Strict):
    at: Duration = Field(description="When, after the journey's first moment: the provider's time of the step")
    arrives: Duration | None = Field(
        default=None, description="When it reaches Threadline, if later than `at`: a late delivery (retry, redrive)"
    )
    concurrent: bool = Field(default=False, description="Sent with the previous step, before it is processed")

    @property
    def offset(self) -> timedelta:
        return parse_duration(self.at)

    @property
    def arrival(self) -> timedelta:
        """When the step reaches Threadline: `arrives`, else its own time."""
        return parse_duration(self.arrives) if self.arrives is not None else self.offset

    @property
    def late(self) -> bool:
        return self.arrival > self.offset

    @property
    def creates_contact(self) -> bool:
        return True

    @property
    def live(self) -> bool:
        """The channel carries no provider time: the step happens when it is sent."""
        return False

    @property
    def horizon(self) -> timedelta | None:
        """How long before the journey's end this step may lie (None: any time, the provider says when)."""
        return LIVE_SLACK if self.live else None

    def texts(self) -> tuple[str, ...]:
        """Fields that may hold placeholders."""
        return ()

    def label_references(self) -> dict[str, str]:
        """Earlier labels this step names, by the field that names them."""
        return {}


class MessageStep(_Step):
    channel: Literal["sms", "sms-eum", "whatsapp", "whatsapp-status", "messenger", "instagram", "x-dm", "x-mention"]
    label: Label | None = None
    sender: Sender = Field(alias="from")
    text: str = ""
    direction: Literal["inbound", "outbound"] = "inbound"
    page: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")] | None = None
    replies_to: Label | None = None

    @model_validator(mode="after")
    def _fits_channel(self) -> MessageStep:
        kind = self.sender.partition(":")[0]
        expected = {"messenger": "messenger", "instagram": "instagram", "x-dm": "x", "x-mention": "x"}
        if kind != expected.get(self.channel, "phone"):
            raise ValueError(f"{self.channel} is sent from a {expected.get(self.channel, 'phone')}: identifier")
        if self.direction == "outbound" and self.channel not in ("messenger", "instagram", "x-dm"):
            raise ValueError("outbound steps exist for messenger, instagram (echo) and x-dm")
        if self.page and self.channel not in ("messenger", "instagram"):
            raise ValueError("page is for messenger and instagram")
        if self.replies_to and self.channel != "x-mention":
            raise ValueError("replies_to is for x-mention (and email)")
        if (self.channel == "whatsapp-status") != (self.label is None):
            raise ValueError("every message step has a label, except whatsapp-status (a receipt, never stored)")
        if self.channel != "whatsapp-status" and not self.text:
            raise ValueError("a message needs its text")
        return self

    @property
    def creates_contact(self) -> bool:
        return self.channel != "whatsapp-status"

    @property
    def live(self) -> bool:
        return self.channel in ("sms", "sms-eum")  # Twilio and End User Messaging say no provider time

    def texts(self) -> tuple[str, ...]:
        return (self.text,)

    def label_references(self) -> dict[str, str]:
        return {"replies_to": self.replies_to} if self.replies_to else {}


class CallStep(_Step):
    """A Twilio call: one contact, reported by several callbacks; `outbound`, a call we placed to `from`."""

    channel: Literal["call"]
    label: Label
    sender: PhoneOrWithheld = Field(alias="from")
    direction: Literal["inbound", "outbound"] = "inbound"
    callbacks: tuple[Literal["incoming", "status", "recording", "transcription"], ...] | None = Field(
        default=None, description='Default: ["incoming", "status"]; an outbound call reports ["status"]'
    )
    transcript: str | None = None

    @model_validator(mode="after")
    def _transcript_has_its_callback(self) -> CallStep:
        if (self.transcript is not None) != ("transcription" in self.reports):
            raise ValueError("a transcript is sent by the transcription callback: give both or neither")
        if self.direction == "outbound" and (self.sender == "withheld" or self.reports != ("status",)):
            raise ValueError("an outbound call goes to a phone: and reports through its status callback only")
        return self

    @property
    def reports(self) -> tuple[str, ...]:
        """The callbacks sent, in order."""
        if self.callbacks is not None:
            return self.callbacks
        return ("status",) if self.direction == "outbound" else ("incoming", "status")

    @property
    def live(self) -> bool:
        return True

    def texts(self) -> tuple[str, ...]:
        return (self.transcript or "",)


class ConnectStep(_Step):
    """An Amazon Connect contact record, injected as the Kinesis stream would deliver it."""

    channel: Literal["connect-voice", "connect-chat"]
    label: Label | None = None
    sender: PhoneOrWithheld = Field(alias="from")
    initiation: Literal["INBOUND", "TRANSFER", "CALLBACK", "OUTBOUND"] = "INBOUND"
    continues: Label | None = Field(default=None, description="PreviousContactId: the contact this one continues")
    revises: Label | None = Field(default=None, description="A later copy of that label's record (no label)")
    attributes: dict[str, str] = {}
    duration: Duration = "4m"

    @model_validator(mode="after")
    def _labeled_unless_a_copy(self) -> ConnectStep:
        if (self.revises is None) == (self.label is None):
            raise ValueError("a Connect step has a label, unless it revises an earlier record")
        return self

    @property
    def creates_contact(self) -> bool:
        return self.revises is None

    @property
    def duration_delta(self) -> timedelta:
        return parse_duration(self.duration)

    def texts(self) -> tuple[str, ...]:
        return tuple(self.attributes.values())

    def label_references(self) -> dict[str, str]:
        return {name: value for name, value in (("continues", self.continues), ("revises", self.revises)) if value}


class EmailStep(_Step):
    channel: Literal["email"]
    label: Label
    sender: Annotated[str, Field(pattern=r"^email:[a-z0-9][a-z0-9_-]{0,31}$")] = Field(alias="from")
    display_name: str | None = None
    subject: str
    text: str
    replies_to: Label | None = Field(default=None, description="An earlier email of the thread (References)")
    automated: Literal["auto-replied", "auto-generated", "bulk", "bounce"] | None = None

    @property
    def horizon(self) -> timedelta | None:
        return EMAIL_HORIZON

    def texts(self) -> tuple[str, ...]:
        return (self.subject, self.text)

    def label_references(self) -> dict[str, str]:
        return {"replies_to": self.replies_to} if self.replies_to else {}


class AppStep(_Step):
    """The first-party app: an authenticated account id plus identifiers the app has verified."""

    channel: Literal["app"]
    label: Label
    account: Annotated[str, Field(pattern=r"^app:[a-z0-9][a-z0-9_-]{0,31}$")]
    verified: tuple[Sender, ...] = ()
    text: str

    def texts(self) -> tuple[str, ...]:
        return (self.text,)


class ApiStep(_Step):
    """A CRM or agent action on /v1; skipped (journey not runnable yet) while its route answers 404/405."""

    channel: Literal["api"]
    action: Literal["attach", "merge", "undo", "close", "reopen"]
    name: Label | None = Field(default=None, description="Names this action, so a later undo can name it")
    customer_of: Label | None = None
    other_customer_of: Label | None = None
    case_of: Label | None = None
    identifier: Sender | None = None
    undoes: Label | None = None
    may_refuse: bool = Field(default=False, description="A 409 or 422 (an unsafe action refused) is a fine answer")

    @model_validator(mode="after")
    def _has_what_its_action_needs(self) -> ApiStep:
        needs = {
            "attach": ("customer_of", "identifier"),
            "merge": ("customer_of", "other_customer_of"),
            "undo": ("undoes",),
            "close": ("case_of",),
            "reopen": ("case_of",),
        }[self.action]
        missing = [field for field in needs if getattr(self, field) is None]
        if missing:
            raise ValueError(f"{self.action} needs {', '.join(missing)}")
        return self

    @property
    def creates_contact(self) -> bool:
        return False

    @property
    def live(self) -> bool:
        return True

    def label_references(self) -> dict[str, str]:
        fields = ("customer_of", "other_customer_of", "case_of")
        return {field: value for field in fields if (value := getattr(self, field))}


class RepeatStep(_Step):
    """The provider delivers an earlier step again, byte for byte (a retry, a redrive)."""

    channel: Literal["repeat"]
    of: Label

    @property
    def creates_contact(self) -> bool:
        return False

    def label_references(self) -> dict[str, str]:
        return {"of": self.of}


Step = Annotated[
    MessageStep | CallStep | ConnectStep | EmailStep | AppStep | ApiStep | RepeatStep, Field(discriminator="channel")
]
