"""What each function loads at import, pinned, so a cold start cannot grow back unnoticed (issue 14).

Each case imports one handler in a fresh interpreter, as a Lambda cold start does,
and looks at `sys.modules`. Times are bench's business (`make bench`), never a test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.topology import FUNCTIONS, FunctionSpec

ROOT = Path(__file__).resolve().parents[2]
EMAIL_FUNCTIONS = frozenset({"ses", "sendgrid", "mailgun"})

# Loaded by no function at import. The X-Ray SDK: tracing is off here (see the tracing test
# below for on). boto3 and the adapters built on it: the cached factories of shared.wiring
# load them on first use, so a request that needs no client (a refused signature, a CRC or
# hub challenge) never pays for them.
NEVER = (
    "aws_xray_sdk",
    "boto3",
    "botocore.session",
    "shared.adapters.sqs",
    "shared.adapters.s3",
    "shared.adapters.eventbridge",
    "shared.adapters.dynamo.table_client",
)
# Only the three email webhooks parse MIME and validate addresses at import.
EMAIL_ONLY = ("email_validator", "mailparser_reply", "shared.channels.email", "shared.ingest.email")
# A function a channel calls hands contacts to the queue: the processor's use cases, /v1 and
# the CRM events are not its business, nor Powertools' resolvers (AppSync, Bedrock, ...).
NOT_FOR_CHANNELS = (
    "shared.linking",
    "shared.api",
    "shared.events",
    "aws_lambda_powertools.event_handler",
)
# An HTTP webhook has no event loop: asyncio comes only with Powertools' batch utilities.
NOT_FOR_WEBHOOKS = ("asyncio",)
# The sender loads a provider's request builder and client when a reply of that provider is
# first sent (shared.wiring's couriers), never at import: a cold start pays for none of them.
NOT_FOR_THE_SENDER = (
    "shared.replies.couriers",
    "shared.replies.providers",
    "shared.replies.commands",
    "shared.adapters",
    "shared.linking",
    "shared.api",
    "shared.channels",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.idempotency",
)
# /v1 loads Powertools' idempotency utility (and its DynamoDB layer) only for a reply with an Idempotency-Key.
NOT_FOR_THE_API = ("aws_lambda_powertools.utilities.idempotency", "shared.replies.providers")

PROBE = "import json, sys\n__import__(sys.argv[1])\nprint(json.dumps(sorted(sys.modules)))"


def loaded_by(module: str, environment: dict[str, str]) -> set[str]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, module], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return set(json.loads(completed.stdout.splitlines()[-1]))


def forbidden_for(spec: FunctionSpec) -> tuple[str, ...]:
    forbidden = [*NEVER]
    if spec.name not in EMAIL_FUNCTIONS:
        forbidden += EMAIL_ONLY
    if spec.channel:
        forbidden += NOT_FOR_CHANNELS
        if spec.routes:
            forbidden += NOT_FOR_WEBHOOKS
    forbidden += {"sender": NOT_FOR_THE_SENDER, "api": NOT_FOR_THE_API}.get(spec.name, ())
    return tuple(forbidden)


def within(loaded: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(name for name in loaded if any(name == p or name.startswith(p + ".") for p in packages))


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_a_function_loads_only_what_its_own_work_needs(spec: FunctionSpec) -> None:
    # Given tracing off, as bench measures it
    environment = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}

    # When the handler is imported in a fresh interpreter
    loaded = loaded_by(spec.module, environment)

    # Then it loaded none of what its work does not need
    assert within(loaded, forbidden_for(spec)) == []
    assert spec.module in loaded


def test_the_email_webhooks_are_pinned_with_their_email_stack_not_without_it() -> None:
    """The guard above is only as good as its list: the email functions do load what the others may not."""
    loaded = loaded_by("functions.sendgrid.handler", {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"})

    assert within(loaded, ("mailparser_reply", "shared.channels.email")) != []


TRACED_INVOCATION = """
import json, sys
import functions.twilio_sms.handler as handler
from aws_xray_sdk.core import xray_recorder
from tests.builders import FakeContext

class Collected:
    def __init__(self):
        self.entities = []
    def send_entity(self, entity):
        self.entities.append(json.loads(entity.serialize()))
    def set_daemon_address(self, address):
        pass

emitted = Collected()
xray_recorder.emitter = emitted
event = {
    "rawPath": "/webhooks/twilio/sms",
    "requestContext": {"http": {"method": "POST", "path": "/webhooks/twilio/sms"}, "stage": "$default"},
    "headers": {"content-type": "application/x-www-form-urlencoded"},
    "body": "From=%2B15555550123&Body=hi",
    "isBase64Encoded": False,
}
response = handler.lambda_handler(event, FakeContext())
print(json.dumps({"status": response["statusCode"], "entities": emitted.entities}))
"""


def test_with_tracing_on_the_handler_is_traced_as_powertools_traces_it() -> None:
    # Given the environment of a Lambda function with active tracing: no POWERTOOLS_TRACE_DISABLED,
    # a task root, and the trace header Lambda sets for a sampled invocation
    environment = {
        name: value for name, value in os.environ.items() if name not in ("POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL")
    }
    environment |= {
        "LAMBDA_TASK_ROOT": str(ROOT),
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }

    # When the Twilio SMS handler is imported and refuses an unsigned request
    completed = subprocess.run(
        [sys.executable, "-c", TRACED_INVOCATION], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    result = json.loads(completed.stdout.splitlines()[-1])

    # Then the invocation was a `## lambda_handler` subsegment annotated as Powertools does
    assert result["status"] == 401
    (subsegment,) = [entity for entity in result["entities"] if entity["name"] == "## lambda_handler"]
    assert subsegment["annotations"] == {"ColdStart": True, "Service": os.environ["POWERTOOLS_SERVICE_NAME"]}
