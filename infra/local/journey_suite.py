"""The labeled journey suite (journeys/*.toml): strict models, loading and the checks a journey must pass.

A journey is a few steps (webhook calls, injected records, CRM API calls) and
the expected outcome: which labeled contacts belong to one customer, to one
case, and which must never share a customer. docs/journeys.md describes the
format; everything a typo could break is checked here, before anything is sent.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

SUITE_DIR = Path(__file__).resolve().parents[2] / "journeys"
LABEL = r"^[a-z][a-z0-9_]{0,31}$"
_DURATION_PART = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
PLACEHOLDER = re.compile(r"\{([a-z-]+):([a-z0-9_-]+)\}")
PLACEHOLDER_KINDS = frozenset({"ref", "ref-typo", "phone", "email"})
# How far before the journey's last moment a step may lie and still be replayed at its time:
# channels without a provider timestamp happen when they are sent; an email's Date header
# is trusted only for a few days (shared.email.contacts.DATE_MAX_AGE).
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Step(_Strict):
    at: Duration = Field(description="When, after the journey's first moment")
    concurrent: bool = Field(default=False, description="Sent with the previous step, before it is processed")

    @property
    def offset(self) -> timedelta:
        return parse_duration(self.at)

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
    """A Twilio call: one contact, reported by several callbacks."""

    channel: Literal["call"]
    label: Label
    sender: PhoneOrWithheld = Field(alias="from")
    callbacks: tuple[Literal["incoming", "status", "recording", "transcription"], ...] = ("incoming", "status")
    transcript: str | None = None

    @model_validator(mode="after")
    def _transcript_has_its_callback(self) -> CallStep:
        if (self.transcript is not None) != ("transcription" in self.callbacks):
            raise ValueError("a transcript is sent by the transcription callback: give both or neither")
        return self

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

    @property
    def live(self) -> bool:
        return True

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


class Expectation(_Strict):
    customers: tuple[tuple[Label, ...], ...] = ()
    cases: tuple[tuple[Label, ...], ...] = ()
    must_not_link: tuple[tuple[Label, Label], ...] = ()
    anonymous: tuple[Label, ...] = Field(default=(), description="Contacts that must have no customer")
    no_case: tuple[Label, ...] = Field(default=(), description="Contacts that must be on no case")
    claimed: tuple[Label, ...] = Field(default=(), description="Contacts linked to a case marked `claimed`")


class Journey(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")]
    title: str = Field(min_length=3, max_length=120)
    tags: tuple[str, ...] = Field(min_length=1)
    why: str = Field(min_length=10)
    steps: tuple[Step, ...] = Field(alias="step", min_length=1)
    expect: Expectation

    @model_validator(mode="after")
    def _consistent(self) -> Journey:
        problems = list(_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for step in self.steps if (label := getattr(step, "label", None)))

    @property
    def span(self) -> timedelta:
        return max(step.offset for step in self.steps)

    def rounds(self) -> tuple[int, ...]:
        """The round each step is sent in: the next round, unless it is concurrent with the previous step."""
        numbers: list[int] = []
        for index, step in enumerate(self.steps):
            numbers.append(0 if index == 0 else numbers[-1] + (0 if step.concurrent else 1))
        return tuple(numbers)

    def step_of(self, label: str) -> MessageStep | CallStep | ConnectStep | EmailStep | AppStep:
        for step in self.steps:
            if getattr(step, "label", None) == label:
                return step  # type: ignore[return-value]
        raise KeyError(label)


def _problems(journey: Journey) -> Iterable[str]:
    """Everything that would make a journey mean something else than it says."""
    seen: dict[str, int] = {}  # label or action name → index of its step
    rounds = journey.rounds()
    if journey.steps[0].concurrent:
        yield "the first step cannot be concurrent"
    span = journey.span
    for index, step in enumerate(journey.steps):
        if index and step.offset < journey.steps[index - 1].offset:
            yield f"step {index + 1} is earlier than the step before it"
        if step.horizon is not None and span - step.offset > step.horizon:
            yield f"step {index + 1} ({step.channel}) must lie within {step.horizon} of the journey's last step"
        for field, label in step.label_references().items():
            if label not in seen:
                yield f"step {index + 1}: {field} names {label!r}, which no earlier step defines"
        for kind, value in PLACEHOLDER.findall(" ".join(step.texts())):
            if kind not in PLACEHOLDER_KINDS:
                yield f"step {index + 1}: unknown placeholder {{{kind}:…}}"
            elif kind.startswith("ref") and (value not in seen or rounds[seen[value]] >= rounds[index]):
                yield f"step {index + 1}: {{{kind}:{value}}} needs {value!r} processed in an earlier round"
        if isinstance(step, ApiStep) and step.undoes is not None and step.undoes not in seen:
            yield f"step {index + 1}: undoes {step.undoes!r}, which no earlier step names"
        own = getattr(step, "label", None) or getattr(step, "name", None)
        if own:
            if own in seen:
                yield f"{own!r} is defined twice"
            seen[own] = index
    yield from _expectation_problems(journey)


def _expectation_problems(journey: Journey) -> Iterable[str]:
    expect, labels = journey.expect, set(journey.labels)
    for name, groups, alone in (
        ("customers", expect.customers, expect.anonymous),
        ("cases", expect.cases, expect.no_case),
    ):
        placed = [label for group in groups for label in group] + list(alone)
        for label in sorted(set(placed) - labels):
            yield f"{name}: {label!r} is not a label of this journey"
        alone_name = "anonymous" if name == "customers" else "no_case"
        for label in sorted(labels - set(placed)):
            yield f"{name}: {label!r} is placed nowhere (put it in a group, or in {alone_name})"
        for label in sorted({label for label in placed if placed.count(label) > 1}):
            yield f"{name}: {label!r} is placed twice"
        if any(not group for group in groups):
            yield f"{name}: empty group"
    customer_of = {label: index for index, group in enumerate(expect.customers) for label in group}
    for first, second in expect.must_not_link:
        if first not in labels or second not in labels:
            yield f"must_not_link: {first!r} or {second!r} is not a label"
        elif first in customer_of and customer_of.get(first) == customer_of.get(second):
            yield f"must_not_link: {first!r} and {second!r} are expected to be one customer"
    for label in sorted(set(expect.claimed) - labels):
        yield f"claimed: {label!r} is not a label"


class SuiteFile(_Strict):
    journeys: tuple[Journey, ...] = Field(alias="journey", min_length=1)


class SuiteError(ValueError):
    """A journey file does not load or validate; the message names the file and what is wrong."""


def journey_files(paths: Sequence[Path] = ()) -> list[Path]:
    """The given files, the *.toml files of given folders, or the whole suite."""
    found: list[Path] = []
    for path in paths or (SUITE_DIR,):
        found += sorted(path.glob("*.toml")) if path.is_dir() else [path]
    return found


def load_suite(paths: Sequence[Path] = ()) -> list[Journey]:
    journeys: list[Journey] = []
    for path in journey_files(paths):
        try:
            suite = SuiteFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, ValidationError) as error:
            raise SuiteError(f"{path}: {error}") from error
        journeys += suite.journeys
    duplicates = sorted({journey.id for journey in journeys if [j.id for j in journeys].count(journey.id) > 1})
    if duplicates:
        raise SuiteError(f"journey ids used twice: {', '.join(duplicates)}")
    return journeys
