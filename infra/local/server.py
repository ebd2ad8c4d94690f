"""The local HTTP front door: the topology's routes plus the stack's own `/_local/*` endpoints."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.local.gateway import (
    MAX_PAYLOAD_BYTES,
    HttpRequest,
    HttpResponse,
    InvalidLambdaResponse,
    MethodNotAllowed,
    RouteNotFound,
    RouteTable,
    api_gateway_event,
    error_response,
    http_response,
    json_response,
)
from infra.local.invoker import FunctionInvoker
from infra.local.pollers import NoFunctionForSource, SourceInjector
from infra.local.sandbox import Sandboxes
from infra.topology import Source

log = logging.getLogger("threadline.local")

STATUS_PATH = "/_local/status"
OUTBOX_PATH = "/_local/outbox"
INJECT_PREFIX = "/_local/inject/"


LISTEN_BACKLOG = 256


class LocalGateway:
    """Answers one request the way API Gateway and Lambda would, with no socket involved."""

    def __init__(
        self,
        routes: RouteTable,
        invoker: FunctionInvoker,
        injector: SourceInjector,
        status: Callable[[], dict[str, Any]],
        *,
        sandboxes: Sandboxes | None = None,
        outbox: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self._routes = routes
        self._invoker = invoker
        self._injector = injector
        self._status = status
        self._sandboxes = sandboxes or Sandboxes({})
        self._outbox = outbox or self._sandboxes.outbox

    def mount(self, sandboxes: Sandboxes) -> None:
        """The provider sandboxes, made once the server's own URL is known (they call it back)."""
        self._sandboxes = sandboxes

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path == STATUS_PATH and request.method == "GET":
            return json_response(200, self._status())
        if request.path == OUTBOX_PATH and request.method == "GET":
            return json_response(200, {"items": self._outbox()})
        if request.path.startswith(INJECT_PREFIX) and request.method == "POST":
            return self._inject(request.path.removeprefix(INJECT_PREFIX), request.body)
        if Sandboxes.mounts(request.path):
            return self._sandboxes.handle(request)
        try:
            match = self._routes.match(request.method, request.path)
        except RouteNotFound:
            return error_response(404, "not_found", "no route for this path")
        except MethodNotAllowed as error:
            response = error_response(405, "method_not_allowed", f"allowed: {', '.join(error.allowed)}")
            response.headers.append(("Allow", ", ".join(error.allowed)))
            return response
        try:
            return http_response(self._invoker.invoke(match.function, api_gateway_event(request, match)))
        except InvalidLambdaResponse:
            log.exception("%s answered something that is not an HTTP response (a bug)", match.function.name)
        except Exception:
            log.exception("%s raised (a bug: bad input must never be a 500)", match.function.name)
        return error_response(500, "internal_error", "the function failed; see the server log")

    def _inject(self, source_name: str, body: bytes) -> HttpResponse:
        try:
            source = Source(source_name)
        except ValueError:
            return error_response(404, "not_found", f"unknown source; one of {', '.join(s.value for s in Source)}")
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return error_response(400, "malformed_payload", "body must be JSON (an object or a list of objects)")
        try:
            return json_response(200, self._injector.inject(source, payload))
        except NoFunctionForSource:
            return error_response(404, "not_found", f"no function consumes {source.value} yet")
        except Exception:
            log.exception("the %s function raised (a bug)", source.value)
            return error_response(500, "internal_error", "the function failed; see the server log")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Python's default listen backlog is 5: a burst of webhooks (a provider replaying an outage)
    # would see connection resets. API Gateway queues them; so does the local stack.
    request_queue_size = LISTEN_BACKLOG
    gateway: LocalGateway


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        started = time.perf_counter()
        try:
            response = self._read_and_handle()
        except Exception:
            log.exception("the local server failed on %s %s", self.command, self.path.partition("?")[0])
            response = error_response(500, "internal_error", "the local server failed; see its log")
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        elapsed_ms = (time.perf_counter() - started) * 1000
        # Path only: query strings carry identifiers (phone numbers, addresses).
        log.info("%s %s %d %.0f ms", self.command, self.path.partition("?")[0], response.status, elapsed_ms)

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches to `do_<METHOD>` and answers 501 HTML without one; every
        # method (TRACE, QUERY, ...) reaches the gateway instead, which answers JSON as API
        # Gateway does: 405 where a path has no route for it.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _read_and_handle(self) -> HttpResponse:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            self.close_connection = True
            return error_response(411, "length_required", "send a Content-Length; chunked bodies are not supported")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return error_response(400, "bad_request", "Content-Length is not a number")
        if length > MAX_PAYLOAD_BYTES:
            self.close_connection = True  # the unread body must not be taken for the next request
            return error_response(413, "payload_too_large", f"body is larger than {MAX_PAYLOAD_BYTES} bytes")
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        return self.server.gateway.handle(request)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: `_serve` logs one line per request, without the query string."""


def bind_server(host: str, port: int, gateway: LocalGateway) -> ThreadingHTTPServer:
    """Binds now (a port in use fails here, before anything else starts); serve_forever() serves."""
    server = _Server((host, port), _RequestHandler)
    server.gateway = gateway
    return server
