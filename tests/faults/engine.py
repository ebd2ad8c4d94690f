"""Crash points, injected: every fault kind at every DynamoDB call of every step, then a redelivery.

A run plays the workload against a fresh moto table through one DynamoDB client
whose `_make_api_call` is wrapped. For the faulted step, the n-th call is hit by
one fault kind:

- BEFORE: the call fails before DynamoDB applies it;
- AFTER: DynamoDB applies it, the response is lost (a timeout, the function dies);
- PARTIAL: a BatchWriteItem applies every request but one, then the function dies;
- RETRY: the call applied, its response was lost, and the SDK sent it again (the caller sees the second answer);
- LATE: as AFTER, but the redelivery arrives after every later step. A message that changes
  identities (`Step.merges`: an app login that merges or contests) may then equal either the
  late or the on-time run: its identity change applies when it runs, and may have applied
  before the crash.

A crash ends the step's attempt; the step is then delivered again (SQS redelivery,
or the client repeating its request), at once or, for LATE, at the end. The final
table must equal the fault-free run's in the same delivery order, hints aside
(`normalized`), and satisfy the invariants (`violations`). A scenario whose world
becomes exactly the fault-free one after some step (every item, hints too) stops
there: the steps after it are deterministic, so they would end the same.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import boto3
from moto import mock_aws

from shared.adapters.dynamo.admin import AdminStore
from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.identity import DynamoIdentityStore
from shared.adapters.dynamo.table import create_table_request
from shared.api.commands import Commands
from shared.api.queries import Gone, NotFound
from shared.config import Settings
from shared.linking.merging import IdentityError, Merging
from shared.linking.processor import ContactProcessor
from shared.model.contact import Contact
from shared.model.failures import ConditionFailed, StoreContention
from tests.faults.workload import Run, Step

TABLE = "threadline-faults"
# Items whose content is a guess the next contact validates (docs/data-model.md): never compared.
GUESSES = frozenset({"LAST"})
# What a client that got an answer does not repeat: the request was refused for a reason.
REFUSED = (IdentityError, NotFound, Gone, LookupError)


class FaultKind(Enum):
    BEFORE = "call fails before it is applied"
    AFTER = "call applied, response lost (timeout, crash)"
    PARTIAL = "BatchWriteItem applies all requests but one, then the function dies"
    RETRY = "the SDK retries a call that had already been applied"
    LATE = "the redelivery arrives late, after later messages"

    @property
    def late(self) -> bool:
        return self is FaultKind.LATE


class InjectedCrash(RuntimeError):
    """The function died here; nothing it did after this point happened."""


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    step: int
    call: int  # index of the DynamoDB call within the step's first attempt
    dropped: int = 0  # PARTIAL: which request of the batch is the one not applied


@dataclass
class Injector:
    """Wraps one client's calls; counts them during the faulted step and strikes at the chosen one."""

    original: Callable[[str, dict[str, Any]], Any]
    fault: Fault | None = None
    armed: bool = False
    calls: list[tuple[str, int]] = field(default_factory=list)  # (operation, batch size) of the armed step

    def __call__(self, operation: str, params: dict[str, Any]) -> Any:
        if not self.armed:
            return self.original(operation, params)
        index = len(self.calls)
        self.calls.append((operation, _batch_size(operation, params)))
        fault = self.fault
        if fault is None or index != fault.call:
            return self.original(operation, params)
        self.armed = False  # one fault per scenario
        if fault.kind is FaultKind.BEFORE:
            raise InjectedCrash(operation)
        if fault.kind is FaultKind.PARTIAL:
            self.original(operation, _without_request(params, fault.dropped))
            raise InjectedCrash(operation)
        self.original(operation, copy.deepcopy(params))
        if fault.kind is FaultKind.RETRY:
            return self.original(operation, params)
        raise InjectedCrash(operation)


def _batch_size(operation: str, params: dict[str, Any]) -> int:
    if operation != "BatchWriteItem":
        return 0
    return sum(len(requests) for requests in params["RequestItems"].values())


def _without_request(params: dict[str, Any], dropped: int) -> dict[str, Any]:
    (table, requests), *_ = params["RequestItems"].items()
    kept = [request for index, request in enumerate(requests) if index != dropped]
    return {**params, "RequestItems": {table: kept}}


@dataclass(frozen=True)
class Outcome:
    table: dict[tuple[str, str], str]
    violations: tuple[str, ...]
    canonical: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Checkpoint:
    """Everything the rest of a run depends on: every item (hints too) and what the workload remembered."""

    items: dict[tuple[str, str], str]
    merges: dict[str, str]
    looked_up: dict[tuple[str, str], str]


@dataclass(frozen=True)
class Snapshot:
    table: Any  # moto's table object, copied
    merges: dict[str, str]
    looked_up: dict[tuple[str, str], str]


class World:
    """One moto account with the stack's table, and the use cases over one wrapped client.

    The table can be copied and put back (moto keeps it in memory), so a scenario
    faulted at step n starts from the fault-free state before step n instead of
    replaying steps 0..n-1. The table has no stream: nothing here reads it.
    """

    def __init__(self) -> None:
        self.client = boto3.client("dynamodb")
        request = create_table_request(TABLE)
        request.pop("StreamSpecification")
        self.client.create_table(**request)
        self.injector = Injector(self.client._make_api_call)
        self.client._make_api_call = self.injector  # type: ignore[method-assign]
        settings = Settings(table_name=TABLE)
        contacts = DynamoStore(self.client, TABLE)
        identity = DynamoIdentityStore(self.client, TABLE)
        self.admin = AdminStore(self.client, TABLE)

        def merging(now: datetime) -> Merging:
            return Merging(identity, clock=lambda: now)

        # The processor merges at the time of the step it is processing (an app login), as a fixed clock.
        self.now = datetime.min
        self.run = Run(
            processor=ContactProcessor(contacts, settings, Merging(identity, clock=lambda: self.now)),
            commands=lambda now: Commands(self.admin, lambda: merging(now), default_region="US", clock=lambda: now),
            merging=merging,
            read_contact=self._read_contact,
            read_case=self.admin.get_case,
        )

    def snapshot(self) -> Snapshot:
        return Snapshot(copy.deepcopy(_moto_tables()[TABLE]), dict(self.run.merges), dict(self.run.looked_up))

    def restore(self, snapshot: Snapshot) -> None:
        _moto_tables()[TABLE] = copy.deepcopy(snapshot.table)
        self.run.merges = dict(snapshot.merges)
        self.run.looked_up = dict(snapshot.looked_up)

    def checkpoint(self) -> Checkpoint:
        items = {(item["PK"]["S"], item["SK"]["S"]): json.dumps(item, sort_keys=True) for item in self.items()}
        return Checkpoint(items, dict(self.run.merges), dict(self.run.looked_up))

    def _read_contact(self, provider: str, message_id: str) -> Contact | None:
        contact_id = self.admin.find_contact_id(provider, message_id)
        return self.admin.get_contact(contact_id) if contact_id else None

    def attempt(self, step: Step) -> bool:
        """One delivery of the step; False when it crashed (and must be delivered again)."""
        self.now = step.at
        try:
            step.run(self.run, step.at)
        except REFUSED:
            return True
        except (InjectedCrash, StoreContention, ConditionFailed):
            # The function died, or failed the record (SQS delivers it again; a client repeats its request).
            return False
        return True

    def items(self) -> list[dict[str, Any]]:
        self.injector.armed = False
        scanned, request = [], {"TableName": TABLE}
        while True:
            page = self.client.scan(**request)
            scanned += page["Items"]
            if "LastEvaluatedKey" not in page:
                return scanned
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _moto_tables() -> dict[str, Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    tables: dict[str, Any] = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables
    return tables


def play(
    world: World,
    steps: Sequence[Step],
    fault: Fault | None = None,
    *,
    start: int = 0,
    settled: Sequence[Checkpoint] = (),
) -> Outcome | None:
    """Steps `start`.. once, the fault (if any) at its step, crashed steps delivered again; the final table.

    None when, after some step, the world is exactly what the fault-free run left after it (`settled`):
    everything after is deterministic, so the rest of the run would be the fault-free one too.
    """
    late: list[Step] = []
    for index in range(start, len(steps)):
        if settled and not late and index > start and world.checkpoint() == settled[index - 1]:
            return None
        step = steps[index]
        if late and any(_holds_back(message, step) for message in late):
            for message in late:
                _deliver_until_done(world, message)
            late = []
        faulted = fault is not None and index == fault.step
        world.injector.fault, world.injector.armed, world.injector.calls = fault if faulted else None, faulted, []
        delivered = world.attempt(step)
        world.injector.armed = False
        if delivered:
            continue
        if fault is not None and fault.kind is FaultKind.LATE:
            late.append(step)
        else:
            _deliver_until_done(world, step)
    for step in late:
        _deliver_until_done(world, step)
    items = world.items()
    return Outcome(normalized(items), tuple(violations(items)), canonical(items))


def _deliver_until_done(world: World, step: Step, attempts: int = 3) -> None:
    for _ in range(attempts):
        if world.attempt(step):
            return
    raise AssertionError(f"{step.label} never went through after a fault")


def canonical(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The table up to the names of things: which contacts share a customer and a case, who owns each
    identifier, each case's status, each merge's state, each suggestion's candidate.

    Arrival order decides which contact opened a case or created a customer, and ids are
    named after that contact; a message that arrives late (docs/data-model.md) may
    therefore leave a table equivalent to the on-time one rather than equal to it.
    """
    plain = [{name: next(iter(value.values())) for name, value in item.items()} for item in items]
    merged_into = {i["PK"][4:]: i.get("merged_into") for i in plain if i["SK"] == "PROFILE"}

    def survivor(customer: str | None) -> str | None:
        for _ in range(16):
            if customer is None or not merged_into.get(customer):
                return customer
            customer = merged_into[customer]
        return customer

    contacts = {}
    for item in plain:
        if item["SK"] == "CON":
            contact = json.loads(item["contact"])
            contacts[f"{contact['provider']}:{contact['provider_message_id']}"] = item
    groups: dict[str, dict[str | None, set[str]]] = {"customer": {}, "case": {}}
    for name, item in contacts.items():
        groups["customer"].setdefault(survivor(item.get("customer_id")), set()).add(name)
        groups["case"].setdefault(item.get("case_id"), set()).add(name)

    def group(kind: str, key: str | None) -> str:
        members = groups[kind].get(key)
        return ",".join(sorted(members)) if key is not None and members else f"({kind} without contacts)"

    view: dict[str, Any] = {}
    for name, item in contacts.items():
        view[f"contact {name}"] = (
            group("customer", survivor(item.get("customer_id"))),
            group("case", item.get("case_id")),
        )
    for item in plain:
        kind = item["SK"]
        if kind == "IDN":
            view[f"identifier {item['PK']}"] = (group("customer", survivor(item["customer_id"])), item["assurance"])
        elif kind == "CASE" and item["status"] != "merged":
            # A case a late contact emptied (merged into the case that took its contacts) is only a pointer.
            view[f"case {group('case', item['PK'][5:])}"] = item["status"]
        elif kind == "MERGE":
            pair = (group("customer", survivor(item["surviving_customer_id"])), item["evidence"])
            view[f"merge {pair}"] = item["state"]
        elif kind == "SUG":
            candidate = item.get("candidate_customer_id")
            view[f"suggestion {item['contact_id']} {item['identifier']}"] = group("customer", survivor(candidate))
        elif kind in ("GONE", "ERASED"):
            view[f"erased {item['PK'] if kind == 'GONE' else 'customer'}"] = True
    return view


def normalized(items: Sequence[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """Every item but the guesses, as canonical JSON by key."""
    return {
        (item["PK"]["S"], item["SK"]["S"]): json.dumps(item, sort_keys=True)
        for item in items
        if item["SK"]["S"] not in GUESSES
    }


def violations(items: Sequence[dict[str, Any]]) -> Iterator[str]:
    """The invariants every final state keeps (docs/data-model.md, "Invariants")."""
    plain = [{name: next(iter(value.values())) for name, value in item.items()} for item in items]
    by_key = {(item["PK"], item["SK"]): item for item in plain}
    profiles = {item["PK"][4:]: item for item in plain if item["SK"] == "PROFILE"}
    cases = {item["PK"][5:]: item for item in plain if item["SK"] == "CASE"}
    contacts = [item for item in plain if item["SK"] == "CON"]
    markers = Counter(item["contact_id"] for item in plain if item["SK"] == "MSG")
    case_sizes = Counter(item.get("case_id") for item in contacts)
    for contact in contacts:
        message = json.loads(contact["contact"])
        marker = by_key.get((f"MSG#{message['provider']}#{message['provider_message_id']}", "MSG"))
        if marker is None or marker["contact_id"] != message["contact_id"]:
            yield f"contact {message['provider_message_id']} has no dedupe marker naming it"
        if contact.get("customer_id") and contact["customer_id"] not in profiles:
            yield f"contact {message['provider_message_id']} names a customer without a profile"
        if contact.get("case_id") and contact["case_id"] not in cases:
            yield f"contact {message['provider_message_id']} names a case that does not exist"
    for contact_id, count in markers.items():
        if count > 1:
            yield f"contact {contact_id} is named by {count} markers"
    for item in plain:
        if item["SK"] == "IDN" and item["customer_id"] not in profiles:
            yield f"identifier {item['PK']} names a customer without a profile"
    for customer, profile in profiles.items():
        active = profile.get("active_case_id")
        # A merged profile keeps the active case it had, for an undo to give back: only live ones count.
        if not profile.get("merged_into") and active and (active not in cases or cases[active]["status"] != "open"):
            yield f"customer {customer}'s active case is missing or not open"
    for case_id, case in cases.items():
        if case["status"] == "merged":
            # Emptied by a late contact that bridged it to an earlier case: it names where its contacts went.
            if case.get("merged_into") not in cases:
                yield f"case {case_id} was merged into a case that does not exist"
        elif case_sizes[case_id] == 0:
            yield f"case {case_id} has no contacts"
    for item in plain:
        if item["SK"] == "MERGE" and item["state"] in ("applying", "undoing"):
            yield f"merge {item['PK']} stopped {item['state']}"


@contextmanager
def quiet() -> Iterator[None]:
    """moto's warnings about unsorted batch keys and the like are noise for thousands of runs."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@dataclass
class Tally:
    scenarios: int = 0
    diverged: int = 0
    examples: list[str] = field(default_factory=list)


def arrived_late(steps: Sequence[Step], late: int) -> list[Step]:
    """The order a message redelivered late arrives in: after the messages that followed it, before the next
    request (or the next message that quotes it)."""
    following = next((i for i in range(late + 1, len(steps)) if _holds_back(steps[late], steps[i])), len(steps))
    return [*steps[:late], *steps[late + 1 : following], steps[late], *steps[following:]]


def _holds_back(late: Step, step: Step) -> bool:
    """Requests are synchronisation points, and a message that quotes the late one cannot come before it."""
    return not step.message or step.merges or step.label in late.quoted_by


def faults_of(kind: FaultKind, per_step: Sequence[Sequence[tuple[str, int]]], steps: Sequence[Step]) -> Iterator[Fault]:
    for step, calls in enumerate(per_step):
        if kind.late and not steps[step].message:
            continue
        for call, (operation, size) in enumerate(calls):
            if kind is FaultKind.PARTIAL:
                if operation == "BatchWriteItem" and size > 1:
                    yield from (Fault(kind, step, call, dropped) for dropped in range(size))
            else:
                yield Fault(kind, step, call)


def check(
    steps: Sequence[Step], kinds: Sequence[FaultKind], progress: Callable[[str], None] = lambda _: None
) -> dict[FaultKind, Tally]:
    """Every fault of every kind, each compared with the fault-free run of the same delivery order."""
    with mock_aws(), quiet():
        world = World()
        before: list[Snapshot] = []  # the fault-free state before each step
        after: list[Checkpoint] = []  # and after it
        per_step: list[list[tuple[str, int]]] = []  # the calls each step makes: where faults can strike
        for step in steps:
            before.append(world.snapshot())
            world.injector.fault, world.injector.armed, world.injector.calls = None, True, []
            if not world.attempt(step):
                raise AssertionError(f"{step.label} fails without any fault")
            per_step.append(list(world.injector.calls))
            after.append(world.checkpoint())
        world.injector.armed = False
        items = world.items()
        reference = Outcome(normalized(items), tuple(violations(items)), canonical(items))
        if reference.violations:
            raise AssertionError(f"the fault-free run breaks an invariant: {reference.violations[0]}")
        late_references: dict[int, Outcome] = {}
        tallies = {kind: Tally() for kind in kinds}
        for kind in kinds:
            for fault in faults_of(kind, per_step, steps):
                expected = reference
                if kind.late:
                    if fault.step not in late_references:
                        world.restore(before[fault.step])
                        late = play(world, arrived_late(steps, fault.step), start=fault.step)
                        assert late is not None  # played to the end: nothing to settle against
                        late_references[fault.step] = late
                    expected = late_references[fault.step]
                world.restore(before[fault.step])
                try:
                    # A late redelivery is compared at the end, up to names: no early exit for it.
                    outcome = play(world, steps, fault, start=fault.step, settled=() if kind.late else after)
                except Exception as error:  # a step that never goes through: the worst divergence of all
                    outcome = Outcome({}, (f"{type(error).__name__}: {error}",))
                if outcome is None:
                    outcome = reference
                tally = tallies[kind]
                tally.scenarios += 1
                if not kind.late:
                    compared = _differences(expected.table, outcome.table)
                elif steps[fault.step].merges:
                    # Its identity change (a merge, a contested phone) applies when the request runs, like an
                    # API call's: a crash after it applied leaves it in effect on time, before it left the rest.
                    compared = min(
                        _differences(expected.canonical, outcome.canonical),
                        _differences(reference.canonical, outcome.canonical),
                        key=len,
                    )
                else:
                    compared = _differences(expected.canonical, outcome.canonical)
                problems = [*outcome.violations, *compared]
                if problems:
                    tally.diverged += 1
                    call = per_step[fault.step][fault.call][0]
                    detail = _detail(expected.table, outcome.table, problems[0])
                    tally.examples.append(f"{steps[fault.step].label} call {fault.call} ({call}): {detail}")
            progress(f"{kind.name}: {tallies[kind].scenarios} scenarios, {tallies[kind].diverged} diverged")
    return tallies


def _differences(expected: dict[Any, Any], actual: dict[Any, Any]) -> list[str]:
    found = []
    for key in sorted(expected.keys() | actual.keys(), key=str):
        if key not in actual:
            found.append(f"missing {key}")
        elif key not in expected:
            found.append(f"extra {key}")
        elif expected[key] != actual[key]:
            found.append(f"differs {key}")
    return found


def _detail(expected: dict[tuple[str, str], str], actual: dict[tuple[str, str], str], problem: str) -> str:
    """The first problem, and for a differing item the attributes that differ."""
    for key in expected.keys() & actual.keys():
        if problem == f"differs {key}":
            ours, theirs = json.loads(actual[key]), json.loads(expected[key])
            names = sorted(name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name))
            return f"{problem}: {', '.join(f'{n}={ours.get(n)} (expected {theirs.get(n)})' for n in names)}"[:600]
    return problem


def summary(tallies: dict[FaultKind, Tally]) -> str:
    width = max(len(kind.value) for kind in tallies)
    lines = [f"{'fault':<{width}}  scenarios  diverged", f"{'-' * width}  ---------  --------"]
    lines += [f"{kind.value:<{width}}  {t.scenarios:>9}  {t.diverged:>8}" for kind, t in tallies.items()]
    for kind, tally in tallies.items():
        lines += [f"  {kind.name}: {example}" for example in tally.examples[:5]]
    return "\n".join(lines)
