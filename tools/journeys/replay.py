"""Replaying journeys through a running stack over HTTP, and reading back where each contact landed.

Journeys are replayed side by side in rounds: round r sends step r of every
journey (plus the steps marked concurrent with it), then waits once for the
stack to be idle. A step therefore always finds the steps before it processed,
as it would after the minutes or days between them in life, and the suite waits
for the stack only as often as its longest journey has steps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.local.client import HttpResult, StackClient
from infra.local.samples import SignedRequest, samples
from tools.journeys import email as journey_email
from tools.journeys import requests
from tools.journeys.identities import Identities
from tools.journeys.metrics import Predicted
from tools.journeys.requests import ApiCall, Built, ContactKey, Injection, StepContext
from tools.journeys.steps import (
    ApiStep,
    AppStep,
    CallStep,
    ConnectStep,
    EmailStep,
    MessageStep,
    RepeatStep,
    Step,
)
from tools.journeys.suite import Journey

ROUTE_MISSING = frozenset({404, 405})
REFUSALS = frozenset({409, 422})  # what an API answers to an action it will not take
_ONE_SECOND = timedelta(seconds=1)


class NotRunnableYet(Exception):
    """A step needs a route, source or sample builder the stack does not have (yet)."""


class StepRefused(Exception):
    """The stack refused a step (a 4xx or 5xx other than a missing route), or a lookup it needs failed."""


@dataclass
class JourneyRun:
    journey: Journey
    identities: Identities
    start: datetime  # the journey's first moment: its last step is "now"
    built: dict[str, Built] = field(default_factory=dict)  # by label or action name
    merge_ids: dict[str, str] = field(default_factory=dict)
    latest: datetime | None = None  # the latest provider time sent so far
    skipped: str | None = None
    errored: str | None = None

    @property
    def active(self) -> bool:
        return self.skipped is None and self.errored is None


class StackReader:
    """What the /v1 API says about contacts, customers and cases; cached until `forget()`."""

    def __init__(self, client: StackClient) -> None:
        self._client = client
        self._contacts: dict[ContactKey, dict[str, Any] | None] = {}
        self._survivors: dict[str, str] = {}
        self._cases: dict[str, dict[str, Any] | None] = {}

    def forget(self) -> None:
        """After a round: contacts move when customers merge, and new ones arrive."""
        self._contacts.clear()
        self._survivors.clear()
        self._cases.clear()

    def _get(self, path: str, **query: Any) -> HttpResult:
        result = self._client.api_get(path, **query)
        if result.status not in (200, 404):
            raise StepRefused(f"GET {path} answered {result.status}: {result.text[:200]}")
        return result

    def contact(self, key: ContactKey) -> dict[str, Any] | None:
        if key not in self._contacts:
            result = self._get("/v1/contacts", provider=key.provider, provider_message_id=key.provider_message_id)
            items = result.json()["items"] if result.status == 200 else []
            self._contacts[key] = items[0] if items else None
        return self._contacts[key]

    def survivor(self, customer_id: str) -> str:
        """A merged customer answers with the surviving id."""
        if customer_id not in self._survivors:
            result = self._get(f"/v1/customers/{customer_id}")
            self._survivors[customer_id] = result.json()["customer_id"] if result.status == 200 else customer_id
        return self._survivors[customer_id]

    def case(self, case_id: str) -> dict[str, Any] | None:
        if case_id not in self._cases:
            result = self._get(f"/v1/cases/{case_id}", limit=100)
            self._cases[case_id] = result.json() if result.status == 200 else None
        return self._cases[case_id]

    def predicted(self, key: ContactKey | None, *, may_be_merged: bool) -> Predicted:
        contact = self.contact(key) if key else None
        if contact is None:
            return Predicted(stored=False)
        customer = contact.get("customer_id")
        link = contact.get("link") or {}
        return Predicted(
            customer_id=self.survivor(customer) if customer and may_be_merged else customer,
            case_id=contact.get("case_id"),
            claimed=link.get("assurance") == "claimed",
        )


class _Lookups:
    """`journey_requests.Lookups` for one journey: its own steps, and the stack's answers about them."""

    def __init__(self, run: JourneyRun, reader: StackReader) -> None:
        self._run = run
        self._reader = reader

    def built(self, label: str) -> Built:
        return self._run.built[label]

    def _contact(self, label: str) -> dict[str, Any]:
        key = self.built(label).key
        contact = self._reader.contact(key) if key else None
        if contact is None:
            raise StepRefused(f"{label} was not stored, so the step that needs it cannot be sent")
        return contact

    def reference(self, label: str) -> str:
        case_id = self._contact(label).get("case_id")
        case = self._reader.case(case_id) if case_id else None
        # A contact on no case has no reference to quote: the customer quotes nothing that exists.
        return str(case["reference"]) if case else "(no reference)"

    def customer(self, label: str) -> str:
        customer = self._contact(label).get("customer_id")
        if not customer:
            raise StepRefused(f"{label} has no customer to act on")
        return self._reader.survivor(customer)

    def case(self, label: str) -> str:
        case_id = self._contact(label).get("case_id")
        if not case_id:
            raise StepRefused(f"{label} is on no case to act on")
        return str(case_id)

    def merge_id(self, name: str) -> str:
        if name not in self._run.merge_ids:
            raise StepRefused(f"the answer to {name} named no merge_id to undo")
        return self._run.merge_ids[name]


def required_sample(step: Step) -> str | None:
    if isinstance(step, MessageStep | CallStep):
        return requests.SAMPLE_OF_CHANNEL.get(step.channel)
    return journey_email.MAILGUN_SAMPLE if isinstance(step, EmailStep) else None


def missing_samples(journey: Journey) -> list[str]:
    registry = samples()
    return sorted({name for step in journey.steps if (name := required_sample(step)) and name not in registry})


def _build(step: Step, context: StepContext, run: JourneyRun) -> Built:
    if isinstance(step, RepeatStep):
        return Built(run.built[step.of].calls)
    if isinstance(step, MessageStep):
        return requests.message_step(step, context)
    if isinstance(step, CallStep):
        return requests.call_step(step, context)
    if isinstance(step, ConnectStep):
        return requests.connect_step(step, context)
    if isinstance(step, EmailStep):
        return requests.email_step(step, context)
    if isinstance(step, AppStep):
        return requests.app_step(step, context)
    assert isinstance(step, ApiStep)
    return requests.api_step(step, context)


def _what(call: requests.Call) -> str:
    if isinstance(call, Injection):
        return f"POST /_local/inject/{call.source}"
    return f"{call.method} {call.path}"


def _send(client: StackClient, call: requests.Call, api_headers: dict[str, str]) -> HttpResult:
    if isinstance(call, SignedRequest):
        return client.send(call)
    if isinstance(call, Injection):
        return client.inject(call.source, call.payload)
    return client.request(call.method, call.path, body=json.dumps(call.body).encode(), headers=api_headers)


def _merge_id(answer: Any) -> str | None:
    """The merge an API answer names, wherever in the answer it is."""
    if isinstance(answer, dict):
        if isinstance(answer.get("merge_id"), str):
            return str(answer["merge_id"])
        return next((found for value in answer.values() if (found := _merge_id(value))), None)
    if isinstance(answer, list):
        return next((found for value in answer if (found := _merge_id(value))), None)
    return None


def provider_time(run: JourneyRun, step: Step, now: datetime) -> datetime:
    """The step's provider time: as the journey says, never ahead of `now`.

    A step sent live happens `now`. The others keep the order they were sent in:
    a live step is sent a little after its declared time, so the next one is
    placed at least a second after it. A late step (`arrives`) is sent with its
    declared time, before what was already sent: that is what it tests.
    """
    if isinstance(step, RepeatStep):
        return now  # its payload keeps the times of the step it repeats
    if step.live:
        run.latest = now
        return now
    declared = min(now, run.start + step.offset)
    if step.late:
        return declared
    occurred = max(declared, run.latest + _ONE_SECOND) if run.latest else declared
    run.latest = occurred = min(now, occurred)
    return occurred


class Replayer:
    def __init__(self, client: StackClient, public_url: str, api_key: str, *, workers: int = 8) -> None:
        self._client = client
        self._workers = workers
        self._public_url = public_url
        self._api_headers = {"Content-Type": "application/json", "x-api-key": api_key}
        self.reader = StackReader(client)

    def send_step(self, run: JourneyRun, index: int) -> None:
        """Build and send one step; a missing route skips the journey, a refusal marks it errored."""
        step = run.journey.steps[index]
        occurred = provider_time(run, step, datetime.now(UTC))
        context = StepContext(self._public_url, run.identities, _Lookups(run, self.reader), occurred)
        try:
            built = _build(step, context, run)
            for call in built.calls:
                result = _send(self._client, call, self._api_headers)
                if result.status in ROUTE_MISSING:
                    raise NotRunnableYet(f"{_what(call)} answers {result.status} (not there yet)")
                if isinstance(step, ApiStep) and step.may_refuse and result.status in REFUSALS:
                    continue
                if result.status >= 300:
                    answer = " ".join(result.text.split())[:200]
                    raise StepRefused(
                        f"step {index + 1} ({step.channel}): {_what(call)} answered {result.status} {answer}"
                    )
                if isinstance(call, ApiCall) and isinstance(step, ApiStep) and step.name:
                    found = _merge_id(result.json()) if result.body else None
                    if found:
                        run.merge_ids[step.name] = found
        except NotRunnableYet as reason:
            run.skipped = str(reason)
            return
        except StepRefused as reason:
            run.errored = str(reason)
            return
        own = getattr(step, "label", None) or getattr(step, "name", None)
        if own:
            run.built[own] = built

    def replay(self, runs: Sequence[JourneyRun], *, idle_timeout_s: float) -> list[str]:
        """Every step of every run, round by round; the warnings (a stack that would not go idle)."""
        warnings: list[str] = []
        rounds = {id(run): run.journey.rounds() for run in runs}
        last_round = max((max(numbers) for numbers in rounds.values()), default=-1)
        for number in range(last_round + 1):

            def send_round(run: JourneyRun, number: int = number) -> None:
                for index, step_round in enumerate(rounds[id(run)]):
                    if step_round == number and run.active:
                        self.send_step(run, index)

            # Journeys are independent (their identifiers are their own); a journey's steps keep their order.
            with ThreadPoolExecutor(max_workers=self._workers) as pool:
                list(pool.map(send_round, runs))
            warnings += self.wait_idle(idle_timeout_s, f"round {number + 1}")
            self.reader.forget()
        return warnings

    def wait_idle(self, timeout_s: float, when: str) -> list[str]:
        started = time.monotonic()
        try:
            self._client.wait_idle(timeout_s)
        except TimeoutError as error:
            return [f"{when}: {error} (went on after {time.monotonic() - started:.0f} s)"]
        return []

    def readback(self, run: JourneyRun) -> dict[str, Predicted]:
        # Only verified evidence (the app, a CRM action) merges customers: other journeys skip the survivor look-ups.
        merges = any(isinstance(step, ApiStep | AppStep) for step in run.journey.steps)
        return {
            label: self.reader.predicted(run.built[label].key, may_be_merged=merges) for label in run.journey.labels
        }

    def extra_contacts(self, run: JourneyRun, predicted: dict[str, Predicted]) -> Iterable[str]:
        """Cases holding contacts the journey does not account for: a duplicate stored twice, a stray status."""
        on_case: dict[str, list[str]] = {}
        for label, found in predicted.items():
            if found.case_id:
                on_case.setdefault(found.case_id, []).append(label)
        for case_id, labels in on_case.items():
            case = self.reader.case(case_id)
            held = len(case["contacts"]["items"]) if case else 0
            if held > len(labels):
                yield f"the case of {', '.join(sorted(labels))} holds {held} contacts, the journey made {len(labels)}"
