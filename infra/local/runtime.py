"""The local stack in one process: moto, the environment, the pollers and the HTTP server.

Started by `threadline serve`; the topology (infra/topology.py) decides which
functions, routes and pollers exist, exactly as it does for the CDK app.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra import topology
from infra.local.callbacks import ThreadedWebhooks
from infra.local.gateway import REGION, RouteTable
from infra.local.invoker import FunctionInvoker
from infra.local.moto_backend import FAKE_CREDENTIALS, LocalResources, MotoBackend, client, provision, sent_emails
from infra.local.pollers import Poller, SourceInjector, local_kind, start_pollers
from infra.local.samples.ses import LOCAL_TEST_PEM, write_test_certificate
from infra.local.sandbox import SandboxContext, Sandboxes
from infra.local.server import LocalGateway, bind_server
from infra.local.timer import interval_s
from infra.topology import FunctionSpec, Source, enabled_functions
from shared.config import clear_caches

log = logging.getLogger("threadline.local")

SERVICE_NAME = "threadline-local"  # one process serves every function, so one Powertools service name


def local_environment(
    environ: Mapping[str, str], resources: LocalResources, *, public_url: str, log_level: str
) -> dict[str, str | None]:
    """What the handlers must see before they are imported: a value to set, or None to remove."""
    changes: dict[str, str | None] = {
        # Only moto is reachable, and never with the user's real credentials.
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": resources.endpoint_url,
        "THREADLINE_TABLE_NAME": resources.table_name,
        "THREADLINE_QUEUE_URL": resources.queue_url,
        "THREADLINE_OUTBOUND_QUEUE_URL": resources.outbound_queue_url,
        "THREADLINE_MAIL_BUCKET": resources.mail_bucket,
        "THREADLINE_PUBLIC_URL": environ.get("THREADLINE_PUBLIC_URL") or public_url,
        "THREADLINE_API_AUTH": "api_key",  # no API Gateway IAM authorizer in front of /v1 here
        "SNS_TEST_CERT_PEM": environ.get("SNS_TEST_CERT_PEM") or str(LOCAL_TEST_PEM),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Threadline",
        "POWERTOOLS_SERVICE_NAME": environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE_NAME,
        "POWERTOOLS_LOG_LEVEL": log_level,
        # EMF metric lines would drown the request log; set it to false to see them.
        "POWERTOOLS_METRICS_DISABLED": environ.get("POWERTOOLS_METRICS_DISABLED") or "true",
    }
    # A per-service endpoint would win over AWS_ENDPOINT_URL and reach past moto.
    changes.update({name: None for name in environ if name.startswith("AWS_ENDPOINT_URL_")})
    # Read-only secrets come from env or the dev defaults; one a function writes back lives in moto.
    secrets = topology.local_secret_environment(environ)
    changes.update(secrets)
    changes.update({f"{name}_SECRET_ARN": resources.secret_arns.get(name) for name in secrets})
    # The X poller reads the local X sandbox unless told otherwise: the same client, another base URL.
    changes["THREADLINE_X_API_URL"] = environ.get("THREADLINE_X_API_URL") or f"{public_url}/_sandbox/x"
    # Replies go to the providers' sandboxes, which call our status webhooks back, signed.
    changes["THREADLINE_TWILIO_API_URL"] = environ.get("THREADLINE_TWILIO_API_URL") or f"{public_url}/_sandbox/twilio"
    changes["THREADLINE_GRAPH_API_URL"] = environ.get("THREADLINE_GRAPH_API_URL") or f"{public_url}/_sandbox/meta"
    no_proxy = [host for host in environ.get("NO_PROXY", environ.get("no_proxy", "")).split(",") if host]
    changes["NO_PROXY"] = changes["no_proxy"] = ",".join(dict.fromkeys([*no_proxy, "127.0.0.1", "localhost"]))
    return changes


def x_mode(environ: Mapping[str, str]) -> topology.XMode:
    mode = environ.get("THREADLINE_X_MODE") or "webhook"
    if mode not in topology.X_MODE_CHANNELS:
        raise ValueError(f"THREADLINE_X_MODE must be one of {', '.join(topology.X_MODE_CHANNELS)}, not {mode!r}")
    return mode  # type: ignore[return-value]


def writable_secret_values(environ: Mapping[str, str]) -> dict[str, str]:
    """The starting value of each secret a function writes back: the shell's, else the public one."""
    values = topology.local_secret_environment(environ)
    return {name: values[name] for name, secret in topology.secrets().items() if secret.writable}


def apply_environment(changes: Mapping[str, str | None]) -> None:
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    clear_caches()


class LocalRuntime:
    def __init__(self, host: str = "127.0.0.1", port: int = 8080, log_level: str = "WARNING") -> None:
        self.x_mode = x_mode(os.environ)
        self.functions: tuple[FunctionSpec, ...] = enabled_functions(x_mode=self.x_mode)
        self.routes = RouteTable(self.functions)
        self._invoker = FunctionInvoker()
        injector = SourceInjector(self.functions, self._invoker)
        gateway = LocalGateway(self.routes, self._invoker, injector, self.status, outbox=self.outbox)
        self._http = bind_server(host, port, gateway)
        bound_port = self._http.server_address[1]
        self.url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{bound_port}"  # noqa: S104
        # The sandboxes call the stack back (status callbacks) once it serves, as the providers would.
        self._callbacks = ThreadedWebhooks(self.url)
        self.sandboxes = Sandboxes.discover(SandboxContext(webhooks=self._callbacks))
        gateway.mount(self.sandboxes)
        self._log_level = log_level
        self._moto = MotoBackend()
        self._moto_running = False
        self._pollers: list[Poller] = []
        self._serving: threading.Thread | None = None
        self.resources: LocalResources | None = None

    def start(self) -> None:
        # A function that adds no metric is normal here; Powertools would warn on every call.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        endpoint_url = self._moto.start()
        self._moto_running = True
        self.resources = provision(endpoint_url, writable_secret_values(os.environ))
        apply_environment(local_environment(os.environ, self.resources, public_url=self.url, log_level=self._log_level))
        write_test_certificate(Path(os.environ["SNS_TEST_CERT_PEM"]))  # SES samples sign with it
        self._sqs = client("sqs", self.resources.endpoint_url)
        self._pollers = start_pollers(self.functions, self._invoker, self.resources)
        self._serving = threading.Thread(target=self._http.serve_forever, name="http", daemon=True)
        self._serving.start()

    def stop(self) -> None:
        if self._serving is not None:
            self._http.shutdown()
            self._serving.join(timeout=5)
        self._http.server_close()
        for poller in self._pollers:
            poller.stop()
        self._callbacks.stop()
        if self._moto_running:
            self._moto.stop()

    def _queue_counts(self, queue_url: str) -> tuple[int, int]:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def status(self) -> dict[str, Any]:
        """What `/_local/status` answers; idle means nothing is queued, in flight or being processed."""
        assert self.resources is not None, "start() first"
        visible, in_flight = self._queue_counts(self.resources.queue_url)
        dead, _ = self._queue_counts(self.resources.dead_letter_queue_url)
        outbound, outbound_in_flight = self._queue_counts(self.resources.outbound_queue_url)
        outbound_dead, _ = self._queue_counts(self.resources.outbound_dead_letter_queue_url)
        pollers = [poller.status() for poller in self._pollers]
        return {
            "idle": visible + in_flight + outbound + outbound_in_flight + self._callbacks.pending == 0
            and not any(poller.get("busy") for poller in pollers),
            "public_url": os.environ["THREADLINE_PUBLIC_URL"],
            "queue": {"url": self.resources.queue_url, "visible": visible, "in_flight": in_flight},
            "dead_letter_queue": {"url": self.resources.dead_letter_queue_url, "visible": dead},
            "outbound_queue": {"visible": outbound, "in_flight": outbound_in_flight, "dead_letters": outbound_dead},
            "contacts_processed": sum(poller.get("processed", 0) for poller in pollers),
            "pollers": pollers,
            "moto_endpoint": self.resources.endpoint_url,
            "table_name": self.resources.table_name,
            "mail_bucket": self.resources.mail_bucket,
        }

    def outbox(self) -> list[dict[str, Any]]:
        """What replies sent: each sandbox's messages, and the email SES (moto) took, oldest first."""
        sent = self.sandboxes.outbox() + [{"provider": "ses", **message} for message in sent_emails()]
        return sorted(sent, key=lambda message: str(message.get("at", "")))

    def banner(self) -> list[str]:
        assert self.resources is not None, "start() first"
        width = max((len(route.path) for route, _ in self.routes.routes()), default=0)
        lines = [f"Threadline local stack on {self.url}", "", "Routes:"]
        lines += [f"  {route.method:<6} {route.path:<{width}}  → {spec.name}" for route, spec in self.routes.routes()]
        lines += ["", "Event sources:"]
        for spec in self.functions:
            kind = local_kind(spec)
            if spec.source is not None and kind is not None:
                how = {
                    "poll": f"timer, every {interval_s():g} s" if spec.source is Source.SCHEDULE else "polled",
                    "inject": f"POST {self.url}/_local/inject/{spec.source.value}",
                    "http": "posted to its route",
                }[kind.local_mode]
                lines.append(f"  {spec.source.value:<{width + 7}}  → {spec.name}  ({how})")
        lines += [
            "",
            f"Embedded AWS (moto): {self.resources.endpoint_url}  (in memory: gone when this process stops)",
            f"Providers sign for:  {os.environ['THREADLINE_PUBLIC_URL']}",
            f"Status:              GET {self.url}/_local/status",
            f"Provider sandboxes:  {', '.join(f'{self.url}/_sandbox/{name}/' for name in self.sandboxes.providers)}",
            f"X mode:              {self.x_mode} (THREADLINE_X_MODE)",
            "",
            "Secrets:",
        ]
        for name, secret in topology.secrets().items():
            default = secret.local_default
            origin = f"development default ({default})" if os.environ.get(name) == default else "from the environment"
            lines.append(f"  {name:<24} {origin}")
        return lines
