"""How each topology `Source` reaches its function locally: a poller thread, or an injected event.

Deployed, event source mappings poll SQS and the table's stream and invoke the
function; here pollers do the same in threads. Kinesis (Connect contact records)
and SNS (End User Messaging SMS) have no local producer, so a posted payload is
wrapped into their event (`/_local/inject/...`). Which is which, and the function
that does it, is `SOURCE_KINDS` in infra/topology.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.invoker import FunctionInvoker
from infra.local.moto_backend import LocalResources, client
from infra.local.source_events import sqs_event
from infra.topology import SOURCE_KINDS, FunctionSpec, Source, SourceKind, resolve

log = logging.getLogger("threadline.local")

RECEIVE_BATCH = 10
LONG_POLL_S = 1


class Poller(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def status(self) -> dict[str, Any]: ...


def _failed_message_ids(result: Any, batch_ids: set[str]) -> set[str]:
    """Lambda's partial batch response rules: a malformed report fails the whole batch."""
    if result is None:
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, Mapping) else None
    if failures is None:
        return set()
    try:
        failed = {str(item["itemIdentifier"]) for item in failures}
    except (KeyError, TypeError):
        return set(batch_ids)
    return failed if failed <= batch_ids else set(batch_ids)


class QueuePoller:
    """An SQS event source mapping with ReportBatchItemFailures: delete what succeeded, leave the rest.

    A record left undeleted reappears after the visibility timeout; after
    maxReceiveCount receives the queue (moto, as SQS) moves it to the DLQ.
    """

    def __init__(self, spec: FunctionSpec, invoker: FunctionInvoker, endpoint_url: str, queue_url: str, queue_arn: str):
        self._spec = spec
        self._invoker = invoker
        self._sqs = client("sqs", endpoint_url)
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poller-{spec.name}", daemon=True)
        self._busy = False
        self._processed = 0
        self._failed = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=LONG_POLL_S + 5)

    def status(self) -> dict[str, Any]:
        return {"function": self._spec.name, "busy": self._busy, "processed": self._processed, "failed": self._failed}

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._busy = False
                messages = self._sqs.receive_message(
                    QueueUrl=self._queue_url,
                    MaxNumberOfMessages=RECEIVE_BATCH,
                    WaitTimeSeconds=LONG_POLL_S,
                    AttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if messages:
                    self._busy = True
                    self._deliver(messages)
            except (BotoCoreError, ClientError):
                if self._stopping.is_set():
                    return
                log.exception("polling %s failed; retrying", self._spec.name)
                self._stopping.wait(1)
        self._busy = False

    def _deliver(self, messages: Sequence[dict[str, Any]]) -> None:
        started = time.perf_counter()
        batch_ids = {message["MessageId"] for message in messages}
        try:
            result = self._invoker.invoke(self._spec, sqs_event(messages, queue_arn=self._queue_arn))
            failed = _failed_message_ids(result, batch_ids)
        except Exception:
            log.exception("%s raised: the whole batch will be redelivered (a bug)", self._spec.name)
            failed = batch_ids
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(done)],
            )
        self._processed += len(done)
        self._failed += len(failed)
        elapsed_ms = (time.perf_counter() - started) * 1000
        level = logging.WARNING if failed else logging.INFO
        log.log(level, "%s: %d records, %d failed (%.0f ms)", self._spec.name, len(messages), len(failed), elapsed_ms)


def ingest_queue(spec: FunctionSpec, invoker: FunctionInvoker, resources: LocalResources) -> Poller:
    return QueuePoller(spec, invoker, resources.endpoint_url, resources.queue_url, resources.queue_arn)


def outbound_queue(spec: FunctionSpec, invoker: FunctionInvoker, resources: LocalResources) -> Poller:
    return QueuePoller(
        spec, invoker, resources.endpoint_url, resources.outbound_queue_url, resources.outbound_queue_arn
    )


def table_stream(spec: FunctionSpec, invoker: FunctionInvoker, resources: LocalResources) -> Poller:
    from infra.local.stream_poller import TableStreamPoller

    return TableStreamPoller.for_table(
        client("dynamodb", resources.endpoint_url),
        client("dynamodbstreams", resources.endpoint_url),
        resources.table_name,
        lambda event: invoker.invoke(spec, event),
        name=spec.name,
    )


PollerFactory = Callable[[FunctionSpec, FunctionInvoker, LocalResources], Poller]
# A posted payload (one item or a list) → the events the source would invoke its function with.
EventMaker = Callable[[Sequence[Any]], list[dict[str, Any]]]


def local_kind(spec: FunctionSpec) -> SourceKind | None:
    return SOURCE_KINDS[spec.source] if spec.source is not None else None


class NoFunctionForSource(LookupError):
    """No enabled function declares this source (yet), or it cannot be injected."""


class SourceInjector:
    def __init__(self, functions: Sequence[FunctionSpec], invoker: FunctionInvoker) -> None:
        self._by_source = {
            spec.source: spec for spec in functions if (kind := local_kind(spec)) and kind.local_mode == "inject"
        }
        self._invoker = invoker

    def inject(self, source: Source, payload: Any) -> dict[str, Any]:
        spec = self._by_source.get(source)
        if spec is None or spec.source is None:
            raise NoFunctionForSource(source.value)
        items = payload if isinstance(payload, list) else [payload]
        make_events: EventMaker = resolve(str(SOURCE_KINDS[spec.source].local))
        results = [self._invoker.invoke(spec, event) for event in make_events(items)]
        return {"source": source.value, "function": spec.name, "records": len(items), "results": results}


def start_pollers(
    functions: Sequence[FunctionSpec], invoker: FunctionInvoker, resources: LocalResources
) -> list[Poller]:
    pollers = []
    for spec in functions:
        kind = local_kind(spec)
        if kind is not None and kind.local_mode == "poll":
            factory: PollerFactory = resolve(str(kind.local))
            pollers.append(factory(spec, invoker, resources))
    for poller in pollers:
        poller.start()
    return pollers
