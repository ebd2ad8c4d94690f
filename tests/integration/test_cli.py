"""`threadline send` and `threadline demo` against a running stack."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.integration.stack import REPO, LocalStack, unique_phone, unique_sid

pytestmark = pytest.mark.integration

CASE_REFERENCE = re.compile(r"TL-[0-9A-HJKMNP-TV-Z]{8}-[0-9A-HJKMNP-TV-Z]")


def threadline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.local.cli", *args],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_send_posts_a_signed_sample_that_the_stack_stores(stack: LocalStack) -> None:
    phone, sid = unique_phone(), unique_sid()
    sent = threadline("send", "twilio-sms", "--url", stack.url, "--sender", phone, "--message-id", sid)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("HTTP 200")
    stack.wait_idle()
    assert len(stack.api_get("/v1/contacts", provider="twilio", provider_message_id=sid).json()["items"]) == 1


def test_send_exits_non_zero_when_the_webhook_refuses(stack: LocalStack) -> None:
    refused = threadline("send", "twilio-sms", "--url", stack.url, "--public-url", "https://elsewhere.example")
    assert refused.returncode == 1
    assert refused.stdout.startswith("HTTP 403")


def test_demo_prints_the_timeline_with_its_case_reference(stack: LocalStack) -> None:
    demo = threadline("demo", "--url", stack.url)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert CASE_REFERENCE.search(demo.stdout), demo.stdout
    assert "Hi, my order #4417" in demo.stdout
    # The SMS, the WhatsApp follow-up and the call, one after another, on the one case the SMS opened
    (case_line,) = [line for line in demo.stdout.splitlines() if line.startswith("  Case ")]
    assert "open" in case_line and "by sms" in case_line, demo.stdout
