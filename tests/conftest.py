"""Fixtures every suite shares: a clean environment and an in-process moto account."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import topology
from shared import wiring
from shared.adapters.dynamo.table import create_table_request

TABLE = "threadline-test"
# Settings and secrets a developer's shell may hold; each test starts without them.
OUR_ENVIRONMENT = ("THREADLINE_", "SNS_", *topology.secrets())


def clear_factories() -> None:
    """Every cached factory in the code, so each test sees its own environment."""
    wiring.clear()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(OUR_ENVIRONMENT):
            monkeypatch.delenv(name)
    # The local runtime's signing secrets: the public development values.
    for name, value in topology.local_secret_environment({}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Threadline")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "threadline-test")
    monkeypatch.setenv("THREADLINE_PUBLIC_URL", "https://hooks.example.com")
    clear_factories()
    yield
    clear_factories()


@dataclass
class Account:
    """A moto account with the stack's table and FIFO ingest queue (and its DLQ)."""

    dynamodb: Any
    sqs: Any
    table: str
    queue_url: str
    dlq_url: str
    outbound_url: str = ""

    def queued_bodies(self) -> list[str]:
        return self._drain(self.queue_url)

    def outbound_bodies(self) -> list[str]:
        """What waits on the outbound queue: replies to send, delivery reports, consent changes."""
        return self._drain(self.outbound_url)

    def _drain(self, queue_url: str) -> list[str]:
        bodies = []
        while True:
            response = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**create_table_request(TABLE))
        sqs = boto3.client("sqs")
        dlq_url = sqs.create_queue(QueueName="ingest-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="ingest.fifo",
            Attributes={
                "FifoQueue": "true",
                "RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "3"}}',
            },
        )["QueueUrl"]
        outbound_url = sqs.create_queue(QueueName="outbound.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        monkeypatch.setenv("THREADLINE_TABLE_NAME", TABLE)
        monkeypatch.setenv("THREADLINE_QUEUE_URL", queue_url)
        monkeypatch.setenv("THREADLINE_OUTBOUND_QUEUE_URL", outbound_url)
        clear_factories()
        yield Account(dynamodb, sqs, TABLE, queue_url, dlq_url, outbound_url)


def pytest_sessionstart(session: pytest.Session) -> None:
    from tests.faults import suite as fault_suite

    if not hasattr(session.config, "workerinput"):  # the controller, or a run without workers
        fault_suite.forget(session.config)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The fault-injection tally, as `make faults` prints it (tests/component/test_crash_points*.py)."""
    from tests.faults import suite as fault_suite

    if found := fault_suite.tables(config):
        terminalreporter.section("crash points (fault injection)")
        for table in found:
            terminalreporter.write_line(table)
