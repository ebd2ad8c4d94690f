"""Sources with no local producer: a posted payload reaches its function as a Kinesis or SNS event."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import REPO, LocalStack, unique_phone

pytestmark = pytest.mark.integration

EVENTS = REPO / "tests" / "events"


def fixture(path: str, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EVENTS / path).read_text(encoding="utf-8"))
    return {**payload, **changes}


def test_connect_contact_records_injected_as_one_kinesis_batch_are_each_stored(stack: LocalStack) -> None:
    phones = [unique_phone(), unique_phone()]
    records = [
        fixture(
            "connect/voice_inbound.json",
            ContactId=str(uuid.uuid4()),
            Attributes={},
            CustomerEndpoint={"Address": phone, "Type": "TELEPHONE_NUMBER"},
        )
        for phone in phones
    ]

    response = stack.inject("connect_stream", records)

    assert response.status == 200, response.text
    assert response.json()["records"] == 2
    stack.wait_idle()
    for phone in phones:
        customer = stack.customer_of(phone)
        assert customer is not None
        timeline = stack.all_items(f"/v1/customers/{customer['customer_id']}/timeline")
        assert [(contact["provider"], contact["channel"]) for contact in timeline] == [("connect", "voice")]


def test_threadline_inject_eum_delivers_an_inbound_sms_through_sns(stack: LocalStack, tmp_path: Path) -> None:
    phone = unique_phone()
    message = fixture("eum/inbound_sms.json", originationNumber=phone, inboundMessageId=str(uuid.uuid4()))
    path = tmp_path / "inbound.json"
    path.write_text(json.dumps(message), encoding="utf-8")

    injected = subprocess.run(
        [sys.executable, "-m", "infra.local.cli", "inject", "eum", str(path), "--url", stack.url],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert injected.returncode == 0, injected.stdout + injected.stderr
    stack.wait_idle()
    customer = stack.customer_of(phone)
    assert customer is not None
    (contact,) = stack.all_items(f"/v1/customers/{customer['customer_id']}/timeline")
    assert (contact["provider"], contact["content"]["text"]) == ("eum", message["messageBody"])


def test_unknown_source_name_is_a_404(stack: LocalStack) -> None:
    assert stack.inject("carrier_pigeon", {}).status == 404
