"""`threadline demo`: one customer's scripted journey, replayed against a running local stack.

The journey is data: add a step per channel as its sample builder lands (a
step whose sample is not registered yet is skipped).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from infra import topology
from infra.local.client import StackClient, StackUnavailable
from infra.local.samples import SampleOptions, samples

DEMO_PHONE = "+14155550142"  # a fictional 555-01xx number
CUSTOMER_IDENTIFIER = f"phone:{DEMO_PHONE}"


@dataclass(frozen=True)
class JourneyStep:
    sample: str  # a name in infra.local.samples
    story: str  # what the customer does, as the demo narrates it
    options: SampleOptions  # public_url is filled in with the stack's


def _options(**values: Any) -> SampleOptions:
    return SampleOptions(public_url="", **values)


JOURNEY: tuple[JourneyStep, ...] = (
    JourneyStep(
        "twilio-sms",
        "texts about a late order",
        _options(sender=DEMO_PHONE, text="Hi, my order #4417 has not arrived yet. It was due Tuesday."),
    ),
    JourneyStep(
        "meta-whatsapp",
        "follows up on WhatsApp from the same phone",
        _options(sender=DEMO_PHONE, text="Any news on #4417? I need it before the weekend."),
    ),
    JourneyStep("twilio-voice", "gives up writing and calls", _options(sender=DEMO_PHONE)),
)


def _pages(client: StackClient, path: str, key: str | None = None, **query: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated /v1 list (or of `key` inside the answer), following next_cursor."""
    cursor = None
    while True:
        result = client.api_get(path, limit=100, cursor=cursor, **query)
        if result.status != 200:
            raise RuntimeError(f"GET {path} answered {result.status}: {result.text}")
        page = result.json()[key] if key else result.json()
        yield from page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return


def _moment(value: str) -> datetime:
    """API timestamps, compared as times: as text, "…:18Z" sorts after "…:18.5Z"."""
    return datetime.fromisoformat(value)


def _in_order(contact: dict[str, Any]) -> tuple[datetime, datetime]:
    """Provider time to the second (WhatsApp gives no more), then the moment Threadline received it."""
    return _moment(contact["occurred_at"]).replace(microsecond=0), _moment(contact["received_at"])


def _snippet(contact: dict[str, Any], width: int = 64) -> str:
    content = contact.get("content") or {}
    text = content.get("text") or content.get("subject") or content.get("transcript") or content.get("status") or ""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _contact_line(contact: dict[str, Any]) -> str:
    when = contact["occurred_at"].replace("T", " ")[:19]
    arrow = "←" if contact["direction"] == "inbound" else "→"
    return f"    {when}  {contact['channel']:<9} {arrow} {contact['direction']:<8}  {_snippet(contact)}"


def print_timeline(client: StackClient, identifier: str, out: TextIO) -> bool:
    """The customer's contacts grouped by case, oldest first; False when no customer has the identifier."""
    customers = client.api_get("/v1/customers", identifier=identifier)
    if customers.status != 200 or not customers.json()["items"]:
        print(f"No customer has {identifier} ({customers.status}: {customers.text})", file=out)
        return False
    customer = customers.json()["items"][0]
    print(f"\nCustomer {customer['customer_id']}  ({identifier})", file=out)
    cases = sorted(
        _pages(client, f"/v1/customers/{customer['customer_id']}/cases"), key=lambda c: _moment(c["opened_at"])
    )
    for case in cases:
        contacts = sorted(_pages(client, f"/v1/cases/{case['case_id']}", key="contacts"), key=_in_order)
        opened = case["opened_at"].replace("T", " ")[:16]
        print(f"\n  Case {case['reference']}  {case['status']}, opened {opened} UTC by {case['channel']}", file=out)
        for contact in contacts:
            print(_contact_line(contact), file=out)
    print("", file=out)
    return True


def run(base_url: str, out: TextIO = sys.stdout, timeout_s: float = 30) -> int:
    client = StackClient(base_url, api_key=topology.local_secret("THREADLINE_API_KEY"))
    try:
        public_url = client.status()["public_url"]  # what the server verifies signatures against
    except StackUnavailable as error:
        print(f"demo: {error}; start one with `threadline serve`", file=out)
        return 1
    registry = samples()
    print(f"Replaying a customer journey against {base_url}", file=out)
    for step in JOURNEY:
        if step.sample not in registry:
            print(f"  (skipped: no '{step.sample}' sample yet)", file=out)
            continue
        result = client.send(registry[step.sample](dataclasses.replace(step.options, public_url=public_url)))
        print(f"  {step.sample:<14} the customer {step.story}: HTTP {result.status}", file=out)
        if result.status >= 400:
            print(f"demo: the webhook refused the sample: {result.text}", file=out)
            return 1
        # A person's next message comes after the last one was handled, and not in the same second: WhatsApp
        # stamps whole seconds, so a message sent 0.6 s after the SMS reads as older than it and takes the late
        # path (the same case in the end, by merging the SMS's into the one the WhatsApp message opens).
        client.wait_idle(timeout_s)
        time.sleep(1)
    if not print_timeline(client, CUSTOMER_IDENTIFIER, out):
        return 1
    return reply_and_track(client, out, timeout_s)


AGENT_REPLY = "Hi, this is Sam from support: #4417 left our warehouse today and arrives Friday. Sorry for the wait!"


def reply_and_track(client: StackClient, out: TextIO, timeout_s: float) -> int:
    """The agent answers on the channel the customer first wrote on (a call has no text reply), then
    the provider sandbox reports delivery back through the signed status webhook."""
    customer = client.api_get("/v1/customers", identifier=CUSTOMER_IDENTIFIER).json()["items"][0]
    case_id = customer["active_case_id"]
    answer = client.request(
        "POST",
        f"/v1/cases/{case_id}/replies",
        body=json.dumps({"text": AGENT_REPLY, "channel": "sms"}).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": f"demo-{case_id}", **client.api_headers()},
    )
    if answer.status != 202:
        print(f"demo: the reply was refused: HTTP {answer.status} {answer.text}", file=out)
        return 1
    reply = answer.json()
    print(f"  agent replies by {reply['channel']}: HTTP 202, delivery {reply['delivery']['status']}", file=out)
    client.wait_idle(timeout_s)
    stored = client.api_get(f"/v1/contacts/{reply['contact_id']}").json()
    delivery = stored["delivery"]
    print(_contact_line(stored), file=out)
    print(
        f"  Twilio (sandbox) reports it {delivery['status']} ({delivery.get('provider_message_id')}); "
        "`threadline outbox` lists what was sent\n",
        file=out,
    )
    return 0 if delivery["status"] in ("delivered", "read") else 1
