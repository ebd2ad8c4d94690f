"""API Gateway HTTP API emulation: route matching and payload 2.0 event/response translation.

Pure (no sockets, no AWS), so every rule here is unit-tested. Where the docs are
silent we follow what API Gateway was observed to do: the path arrives
URL-decoded, and a body is passed as text only for text/*, JSON, XML and
JavaScript; everything else (form posts and a missing Content-Type included) is
base64-encoded, as is any body that is not valid UTF-8.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from infra.topology import FunctionSpec, Route

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
API_ID = "local"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # the HTTP API payload quota
TEXT_CONTENT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
# The client's hop-by-hop details that API Gateway re-states in its own x-forwarded-* headers.
_REPLACED_HEADERS = frozenset({"cookie", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port"})


class RouteNotFound(LookupError):
    """No route has this path (API Gateway answers 404)."""


class MethodNotAllowed(LookupError):
    """Routes have this path, none with this method."""

    def __init__(self, allowed: Sequence[str]) -> None:
        super().__init__(", ".join(allowed))
        self.allowed = tuple(allowed)


@dataclass(frozen=True)
class HttpRequest:
    """A request as the local server read it off the socket."""

    method: str
    target: str  # the request-target: path, then ?query if any, still percent-encoded
    headers: Sequence[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @property
    def path(self) -> str:
        return unquote(self.target.partition("?")[0]) or "/"

    @property
    def raw_query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_response(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json")], json.dumps(payload).encode())


def error_response(status: int, code: str, message: str) -> HttpResponse:
    """The project's error body (`{"error": {"code", "message"}}`), for answers the gateway gives itself."""
    return json_response(status, {"error": {"code": code, "message": message}})


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    function: FunctionSpec
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Template:
    """A route path split into segments: literal, `{name}` (one segment) or `{name+}` (the rest)."""

    segments: tuple[str, ...]

    @classmethod
    def parse(cls, path: str) -> _Template:
        return cls(tuple(path.strip("/").split("/")) if path.strip("/") else ())

    @property
    def specificity(self) -> tuple[int, ...]:
        """Sorts literal segments before variables before greedy variables, position by position."""
        return tuple(2 if segment.endswith("+}") else 1 if segment.startswith("{") else 0 for segment in self.segments)

    def match(self, path: str) -> dict[str, str] | None:
        parts = path.strip("/").split("/") if path.strip("/") else []
        parameters: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.startswith("{") and segment.endswith("+}"):
                rest = parts[index:]
                if not rest:
                    return None
                parameters[segment[1:-2]] = "/".join(rest)
                return parameters
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                if not parts[index]:
                    return None
                parameters[segment[1:-1]] = parts[index]
            elif segment != parts[index]:
                return None
        return parameters if len(parts) == len(self.segments) else None


class RouteTable:
    """The topology's routes, matched like API Gateway: the most specific route wins."""

    def __init__(self, functions: Sequence[FunctionSpec]) -> None:
        self._declared = [(route, spec) for spec in functions for route in spec.routes]
        entries = [(_Template.parse(route.path), route, spec) for route, spec in self._declared]
        self._entries = sorted(entries, key=lambda entry: entry[0].specificity)

    def routes(self) -> list[tuple[Route, FunctionSpec]]:
        """In declaration order, for people to read."""
        return list(self._declared)

    def match(self, method: str, path: str) -> RouteMatch:
        allowed: list[str] = []
        for template, route, spec in self._entries:
            parameters = template.match(path)
            if parameters is None:
                continue
            if route.method in (method.upper(), "ANY"):
                return RouteMatch(route, spec, parameters)
            allowed.append(route.method)
        if allowed:
            raise MethodNotAllowed(sorted(set(allowed)))
        raise RouteNotFound(path)


def is_text(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_CONTENT_TYPES


def _combined_headers(request: HttpRequest) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        if key not in _REPLACED_HEADERS:
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded_for = [value for name, value in request.headers if name.lower() == "x-forwarded-for"]
    headers["x-forwarded-for"] = ", ".join([*forwarded_for, request.source_ip])
    headers["x-forwarded-proto"] = "http"
    host = headers.get("host", "")
    headers["x-forwarded-port"] = host.rpartition(":")[2] if ":" in host else "80"
    now = datetime.now(UTC)
    headers["x-amzn-trace-id"] = f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}"
    return headers


def _cookies(request: HttpRequest) -> list[str]:
    return [
        cookie.strip()
        for name, value in request.headers
        if name.lower() == "cookie"
        for cookie in value.split(";")
        if cookie.strip()
    ]


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def _encoded_body(body: bytes, content_type: str | None) -> tuple[str, bool]:
    if is_text(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def api_gateway_event(request: HttpRequest, match: RouteMatch, *, now: datetime | None = None) -> dict[str, Any]:
    """The event a Lambda behind an HTTP API route receives (payload format 2.0)."""
    now = now or datetime.now(UTC)
    headers = _combined_headers(request)
    domain = headers.get("host", "127.0.0.1").rpartition(":")[0] or headers.get("host", "127.0.0.1")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
        "headers": headers,
    }
    if cookies := _cookies(request):
        event["cookies"] = cookies
    if query := _query_parameters(request.raw_query):
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": request.method.upper(),
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": base64.b64encode(secrets.token_bytes(10)).decode("ascii"),
        "routeKey": match.route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if request.body:
        event["body"], event["isBase64Encoded"] = _encoded_body(request.body, headers.get("content-type"))
    else:
        event["isBase64Encoded"] = False
    return event


class InvalidLambdaResponse(ValueError):
    """The function answered something API Gateway could not turn into HTTP (it would answer 500)."""


def http_response(result: Any) -> HttpResponse:
    """What API Gateway sends the client for a function's payload 2.0 response."""
    if not isinstance(result, Mapping) or "statusCode" not in result:
        # A response without a status code is taken as a JSON body, status 200.
        return json_response(200, result)
    status = result["statusCode"]
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidLambdaResponse("statusCode must be an integer HTTP status")
    headers = [
        (str(name), str(value))
        for name, value in dict(result.get("headers") or {}).items()
        if str(name).lower() not in ("content-length", "transfer-encoding", "connection")
    ]
    headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or ()]
    body = result.get("body")
    if body is None:
        return HttpResponse(status, headers)
    if not isinstance(body, str):
        raise InvalidLambdaResponse("body must be a string")
    if result.get("isBase64Encoded"):
        try:
            return HttpResponse(status, headers, base64.b64decode(body, validate=True))
        except ValueError as error:
            raise InvalidLambdaResponse("body is flagged base64 but is not") from error
    return HttpResponse(status, headers, body.encode("utf-8"))
