"""The labeled journey suite (journeys/*.toml): the journey model, the checks it must pass, and loading.

A journey is a few steps (`tools.journeys.steps`: webhook calls, injected
records, CRM API calls) and the expected outcome: which labeled contacts belong
to one customer, to one case, and which must never share a customer. The format
is in docs/journeys.md; everything a typo could break is checked here, before
anything is sent.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, model_validator

from tools.journeys.steps import (
    PLACEHOLDER,
    PLACEHOLDER_KINDS,
    ApiStep,
    Label,
    RepeatStep,
    Step,
    Strict,
)

SUITE_DIR = Path(__file__).resolve().parents[2] / "journeys"


class Expectation(Strict):
    customers: tuple[tuple[Label, ...], ...] = ()
    cases: tuple[tuple[Label, ...], ...] = ()
    must_not_link: tuple[tuple[Label, Label], ...] = ()
    anonymous: tuple[Label, ...] = Field(default=(), description="Contacts that must have no customer")
    no_case: tuple[Label, ...] = Field(default=(), description="Contacts that must be on no case")
    claimed: tuple[Label, ...] = Field(default=(), description="Contacts linked to a case marked `claimed`")


class Journey(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")]
    title: str = Field(min_length=3, max_length=120)
    tags: tuple[str, ...] = Field(min_length=1)
    why: str = Field(min_length=10)
    steps: tuple[Step, ...] = Field(alias="step", min_length=1)
    expect: Expectation
    group: str = Field(default="", description="The name of its file (`merges` for journeys/merges.toml)")

    @model_validator(mode="before")
    @classmethod
    def _group_of_its_file(cls, data: Any, info: ValidationInfo) -> Any:
        """`load_suite` names the file in the validation context: the group is the file, never written in it."""
        group = (info.context or {}).get("group")
        if group is None or not isinstance(data, dict):
            return data
        if "group" in data:
            raise ValueError("group is the name of the journey's file, not a field to write")
        return {**data, "group": group}

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
        """From the first moment to the last arrival: the last step to reach Threadline is sent "now"."""
        return max(step.arrival for step in self.steps)

    def rounds(self) -> tuple[int, ...]:
        """The round each step is sent in: the next round, unless it is concurrent with the previous step."""
        numbers: list[int] = []
        for index, step in enumerate(self.steps):
            numbers.append(0 if index == 0 else numbers[-1] + (0 if step.concurrent else 1))
        return tuple(numbers)


def _problems(journey: Journey) -> Iterable[str]:
    """Everything that would make a journey mean something else than it says."""
    seen: dict[str, int] = {}  # label or action name → index of its step
    rounds = journey.rounds()
    if journey.steps[0].concurrent:
        yield "the first step cannot be concurrent"
    span = journey.span
    for index, step in enumerate(journey.steps):
        yield from _arrival_problems(index, step)
        if index and step.arrival < journey.steps[index - 1].arrival:
            yield f"step {index + 1} arrives earlier than the step before it (steps are listed in arrival order)"
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


def _arrival_problems(index: int, step: Step) -> Iterable[str]:
    """`arrives` (a late delivery) says the provider's time stays `at`: only a channel that sends one may be late."""
    if step.arrives is None:
        return
    if step.arrival < step.offset:
        yield f"step {index + 1}: arrives ({step.arrives}) is before at ({step.at}); nothing arrives before it happens"
    if step.live:
        yield (
            f"step {index + 1} ({step.channel}): arrives is for channels that carry a provider time; "
            f"{step.channel} happens when it reaches Threadline, so write that moment as at"
        )
    if isinstance(step, RepeatStep):
        yield (
            f"step {index + 1} (repeat): a repeat reaches Threadline at its at and keeps the times of the step "
            "it repeats; arrives means nothing here"
        )


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


class SuiteFile(Strict):
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
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            suite = SuiteFile.model_validate(data, context={"group": path.stem})
        except (tomllib.TOMLDecodeError, ValidationError) as error:
            raise SuiteError(f"{path}: {error}") from error
        journeys += suite.journeys
    duplicates = sorted({journey.id for journey in journeys if [j.id for j in journeys].count(journey.id) > 1})
    if duplicates:
        raise SuiteError(f"journey ids used twice: {', '.join(duplicates)}")
    return journeys
