"""Cold start to the first answer: a fresh process imports a handler, then answers one request.

The import figures (bench.imports) are Lambda's init phase. A provider waits for
init and the first invocation together, and that invocation pays whatever the
import left for later: boto3 and the queue's client, which shared.wiring's
factories build on first use. Here both are timed, beside a bare handler that
imports boto3 and queues the body (bench/boto3_queue_handler.py). A botocore
`before-send` hook answers the queue's HTTP call inside the process, so the
client is real and no network is touched; it is registered only where the
request queues something, so an answer that needs no client does not import one.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.imports import PROBE_TIMEOUT_S, ROOT, probe_environment

QUEUE_BASELINE = "bench.boto3_queue_handler"
PUBLIC_URL = "https://hooks.example.com"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/threadline-ingest.fifo"
PROBE = """
import json, sys, time
event = json.loads(sys.stdin.read())
start = time.perf_counter()
handler = __import__(sys.argv[1], fromlist=["lambda_handler"]).lambda_handler
imported = time.perf_counter()

class Context:
    function_name, function_version, memory_limit_in_mb = "bench", "$LATEST", 256
    invoked_function_arn, aws_request_id = "arn:aws:lambda:us-east-1:123456789012:function:bench", "bench-1"
    def get_remaining_time_in_millis(self):
        return 10_000

def queue_accepts(request, **kwargs):
    from botocore.awsrequest import AWSResponse
    class Raw:
        def stream(self, **kwargs):
            yield b'{"Successful": [], "Failed": []}'
    return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, Raw())

if sys.argv[2] == "queues":
    import boto3
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-send.sqs", queue_accepts)
status = handler(event, Context())["statusCode"]
answered = time.perf_counter()
print(imported - start, answered - imported, status)
"""


@dataclass(frozen=True)
class FirstRequest:
    name: str
    module: str
    event: Mapping[str, Any]
    queues: bool  # whether answering it puts something on the queue


@dataclass
class FirstAnswer:
    request: FirstRequest
    import_seconds: list[float] = field(default_factory=list)
    invoke_seconds: list[float] = field(default_factory=list)
    status: int | None = None
    error: str | None = None

    @property
    def import_ms(self) -> float:
        return statistics.median(self.import_seconds) * 1000

    @property
    def invoke_ms(self) -> float:
        return statistics.median(self.invoke_seconds) * 1000

    @property
    def total_ms(self) -> float:
        pairs = zip(self.import_seconds, self.invoke_seconds, strict=True)
        return statistics.median(imported + invoked for imported, invoked in pairs) * 1000


def first_requests() -> list[FirstRequest]:
    """A signed Twilio SMS (queued), and X's CRC challenge (answered without the queue)."""
    from infra.local.gateway import HttpRequest, RouteTable, api_gateway_event
    from infra.local.samples import SampleOptions
    from infra.local.samples.twilio_sms import build
    from infra.topology import FUNCTIONS

    routes = RouteTable(FUNCTIONS)
    signed = build(SampleOptions(public_url=PUBLIC_URL))
    sms = HttpRequest(signed.method, signed.path, list(signed.headers.items()), signed.body)
    crc = HttpRequest("GET", "/webhooks/x?crc_token=bench-challenge", [])
    sms_event = api_gateway_event(sms, routes.match(sms.method, sms.path))
    crc_event = api_gateway_event(crc, routes.match(crc.method, crc.path))
    return [
        FirstRequest("bare handler, queues the body", QUEUE_BASELINE, sms_event, queues=True),
        FirstRequest("Twilio SMS, one contact queued", "functions.twilio_sms.handler", sms_event, queues=True),
        FirstRequest("X CRC challenge", "functions.x.handler", crc_event, queues=False),
    ]


def measure_first_answers(repeats: int, requests: Sequence[FirstRequest] | None = None) -> list[FirstAnswer]:
    """One unrecorded round writes a bytecode cache of its own; then the requests take turns."""
    from infra import topology

    answers = [FirstAnswer(request) for request in (requests or first_requests())]
    with tempfile.TemporaryDirectory(prefix="threadline-bytecode-") as cache:
        environment = probe_environment(
            {
                **topology.local_secret_environment({}),
                "THREADLINE_PUBLIC_URL": PUBLIC_URL,
                "THREADLINE_QUEUE_URL": QUEUE_URL,
                "PYTHONPYCACHEPREFIX": cache,
            }
        )
        for round_number in range(repeats + 1):
            for answer in answers:
                if not answer.error:
                    _answer_once(answer, environment, recorded=round_number > 0)
    return answers


def _answer_once(answer: FirstAnswer, environment: dict[str, str], *, recorded: bool) -> None:
    request = answer.request
    completed = subprocess.run(  # noqa: S603 -- our own interpreter and probe, a module name of ours
        [sys.executable, "-c", PROBE, request.module, "queues" if request.queues else "answers"],
        input=json.dumps(request.event),
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        answer.error = (completed.stderr.strip().splitlines() or ["exited with an error"])[-1][:200]
        return
    imported, invoked, status = completed.stdout.strip().splitlines()[-1].split()
    answer.status = int(status)
    if recorded:
        answer.import_seconds.append(float(imported))
        answer.invoke_seconds.append(float(invoked))
