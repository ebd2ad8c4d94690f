"""xMode polling through a real `threadline serve`: the X sandbox, the local timer, the poller, the processor.

The stack runs with THREADLINE_X_MODE=both, the webhook and the poller side by
side as during a migration: a DM that arrives both ways is stored once.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from infra.local.samples import SampleOptions, samples
from infra.local.sandbox.x_state import ACCOUNT_ID
from shared.channels.x_contacts import SNOWFLAKE_EPOCH_MS
from shared.model.x_polling import OAuthTokens
from tests.integration.stack import REPO, LocalStack

pytestmark = pytest.mark.integration
T = TypeVar("T")


@pytest.fixture(scope="module")
def polling_stack() -> Iterator[LocalStack]:
    local = LocalStack({"THREADLINE_X_MODE": "both", "THREADLINE_LOCAL_SCHEDULE_SECONDS": "0.5"}).start()
    yield local
    local.stop()


def unique_x_user() -> str:
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def snowflake_now() -> str:
    return str(((int(time.time() * 1000) - SNOWFLAKE_EPOCH_MS) << 22) | secrets.randbits(22))


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 30) -> T:
    """`read()` once `done` holds for it, or when the timer had plenty of ticks: waiting, never asserting time."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def stored(stack: LocalStack, provider_message_id: str) -> list[dict[str, Any]]:
    found = stack.api_get("/v1/contacts", provider="x", provider_message_id=provider_message_id)
    assert found.status == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


def polled(stack: LocalStack, provider_message_id: str) -> list[dict[str, Any]]:
    return eventually(lambda: stored(stack, provider_message_id), bool)


def dm_reads(stack: LocalStack) -> int:
    state = stack.client.request("GET", "/_sandbox/x/_control/state").json()
    return int(state["requests"].get("dm_events", 0))


def test_a_mention_put_in_the_sandbox_is_polled_into_a_public_contact(polling_stack: LocalStack) -> None:
    customer = unique_x_user()
    build = samples("polling")["x-mention"]
    answer = polling_stack.send(
        build(SampleOptions(public_url=polling_stack.url, sender=customer, text="Where is it?"))
    )
    assert answer.status == 201, answer.text

    [contact] = polled(polling_stack, answer.json()["id"])

    assert contact["content"]["text"] == "@ExampleShopHelp Where is it?"
    assert contact["content"]["visibility"] == "public"
    assert contact["sender"]["identifiers"][0]["value"] == customer
    assert contact["recipient"]["identifiers"][0]["value"] == ACCOUNT_ID


def test_threadline_send_puts_a_dm_in_the_sandbox_and_the_poller_reads_it(polling_stack: LocalStack) -> None:
    customer, text = unique_x_user(), f"dm {secrets.token_hex(4)}"
    command = ["send", "x-dm", "--mode", "polling", "--url", polling_stack.url, "--sender", customer, "--text", text]
    sent = subprocess.run(
        [sys.executable, "-m", "infra.local.cli", *command],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    event_id = json.loads(sent.stdout.split("\n", 1)[1])["id"]

    [contact] = polled(polling_stack, event_id)

    assert contact["content"]["text"] == text
    assert contact["content"]["visibility"] == "private"


def test_a_dm_that_arrives_by_webhook_and_by_polling_is_stored_once(polling_stack: LocalStack) -> None:
    customer, event_id = unique_x_user(), snowflake_now()
    options = SampleOptions(public_url=polling_stack.url, sender=customer, message_id=event_id, text="twice?")
    assert polling_stack.send(samples()["x-dm"](options)).status == 200
    assert polling_stack.send(samples("polling")["x-dm"](options)).status == 201
    first = polled(polling_stack, event_id)

    # Wait for the poller to have read it too: the sandbox counts a DM read after the event was put in.
    control = polling_stack.client.request("GET", "/_sandbox/x/_control/state").json()
    deadline = time.monotonic() + 30
    while (
        polling_stack.client.request("GET", "/_sandbox/x/_control/state").json()["requests"].get("dm_events", 0)
        <= control["requests"].get("dm_events", 0)
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    polling_stack.wait_idle()

    assert [item["contact_id"] for item in polled(polling_stack, event_id)] == [first[0]["contact_id"]]


def test_the_poller_keeps_the_rotated_refresh_token_in_the_embedded_secrets_manager(polling_stack: LocalStack) -> None:
    secrets_manager = polling_stack.boto3("secretsmanager")

    tokens = eventually(
        lambda: OAuthTokens.parse(
            secrets_manager.get_secret_value(SecretId="threadline/local/X_OAUTH2_TOKENS")["SecretString"]
        ),
        lambda stored_tokens: stored_tokens.access_token is not None,
    )

    assert tokens.access_token
    assert tokens.refresh_token != "dev-x-refresh-token"
