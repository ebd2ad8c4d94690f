"""/v1 against the local stack: a property-based run over the committed OpenAPI document, and a journey.

Schemathesis generates requests from docs/openapi.json (which a unit test keeps equal to
the code) and checks every answer: no 5xx, the documented status codes, content types
and response schemas.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from infra import topology
from shared.api.openapi import COMMITTED_DOCUMENT
from tests.integration.stack import LocalStack, unique_phone, unique_sid

pytestmark = pytest.mark.integration

schema = schemathesis.openapi.from_path(str(COMMITTED_DOCUMENT))
# A schema cannot say which strings are phone numbers: "phone:000" is schema-valid, and 400 is right.
IDENTIFIER_INPUT = {("GET", "/v1/customers"), ("POST", "/v1/customers/{customer_id}/identifiers")}
EXAMPLES_PER_OPERATION = 12  # 12 operations: well under a minute against the local stack


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # the same examples on every run: a failure reproduces, a pass stays a pass
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_every_generated_request_as_documented(case: schemathesis.Case, stack: LocalStack) -> None:
    excluded = [positive_data_acceptance] if (case.method.upper(), case.path) in IDENTIFIER_INPUT else []
    case.call_and_validate(base_url=stack.url, headers=_auth(), excluded_checks=excluded)


def test_a_crm_closes_a_case_and_erases_the_customer(stack: LocalStack) -> None:
    phone = unique_phone()
    assert stack.send(stack.sample("twilio-sms", sender=phone, message_id=unique_sid())).status == 200
    stack.wait_idle()
    customer = stack.customer_of(phone)
    assert customer is not None
    case_id = customer["active_case_id"]

    closed = stack.client.request("POST", f"/v1/cases/{case_id}/close", headers=_auth())
    assert closed.status == 200, closed.text
    assert closed.json()["status"] == "closed"

    erased = stack.client.request("DELETE", f"/v1/customers/{customer['customer_id']}", headers=_auth())
    assert erased.status == 200, erased.text
    assert stack.api_get(f"/v1/customers/{customer['customer_id']}").status == 410
    assert stack.customer_of(phone) is None


def _auth() -> dict[str, str]:
    return {"x-api-key": topology.API_KEY.local_default}
