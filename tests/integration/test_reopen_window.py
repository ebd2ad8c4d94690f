"""A customer who writes again after the reopen window gets a new case."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.integration.stack import LocalStack, unique_phone

pytestmark = pytest.mark.integration

REOPEN_DAYS = 0.00005  # 4.32 s
REOPEN_WINDOW_S = REOPEN_DAYS * 24 * 3600


def test_third_sms_after_the_reopen_window_opens_a_new_case(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack(THREADLINE_REOPEN_DAYS=str(REOPEN_DAYS))
    phone = unique_phone()
    for text in ("first", "second"):
        assert stack.send(stack.sample("twilio-sms", sender=phone, text=text)).status == 200
    stack.wait_idle()
    last_sent = time.monotonic()

    time.sleep(max(0.0, last_sent + REOPEN_WINDOW_S + 1 - time.monotonic()))  # waiting, not a timed assertion
    assert stack.send(stack.sample("twilio-sms", sender=phone, text="third")).status == 200
    stack.wait_idle()

    customer = stack.customer_of(phone)
    assert customer is not None
    cases = sorted(stack.all_items(f"/v1/customers/{customer['customer_id']}/cases"), key=lambda c: c["opened_at"])
    texts = [
        sorted(
            contact["content"]["text"] for contact in stack.all_items(f"/v1/cases/{case['case_id']}", key="contacts")
        )
        for case in cases
    ]
    assert texts == [["first", "second"], ["third"]]
