"""The routing a webhook function needs, without Powertools' event handler.

Importing anything of `aws_lambda_powertools.event_handler` runs its package,
which loads every resolver it has (AppSync, Bedrock, VPC Lattice, ...) and
asyncio: 40-60 ms of each cold start (docs/benchmarks.md) for a function that
serves one or two fixed routes of an HTTP API. This is the part of
`APIGatewayHttpResolver` the webhooks use, with the same semantics: a route is
a method and an exact path (the stage stripped as Powertools does), route
middlewares are `(router, next) -> Response`, an error goes to the handler
registered for the nearest class in its hierarchy (none: it propagates), and
the context lives for one invocation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from shared.http import Response, error_response

RouteFunction = Callable[[], Response]
NextMiddleware = Callable[["Router"], Response]
Middleware = Callable[["Router", NextMiddleware], Response]
ErrorHandler = TypeVar("ErrorHandler", bound=Callable[[Any], Response])


class Router:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], tuple[RouteFunction, tuple[Middleware, ...]]] = {}
        self._error_handlers: dict[type[Exception], Callable[[Any], Response]] = {}
        self.context: dict[str, Any] = {}
        self.current_event: Mapping[str, Any] = {}

    @property
    def routes(self) -> list[tuple[str, str]]:
        """Method and path of every route, as registered."""
        return list(self._routes)

    def get(self, path: str, middlewares: Sequence[Middleware] = ()) -> Callable[[RouteFunction], RouteFunction]:
        return self.route("GET", path, middlewares)

    def post(self, path: str, middlewares: Sequence[Middleware] = ()) -> Callable[[RouteFunction], RouteFunction]:
        return self.route("POST", path, middlewares)

    def route(
        self, method: str, path: str, middlewares: Sequence[Middleware] = ()
    ) -> Callable[[RouteFunction], RouteFunction]:
        def register(function: RouteFunction) -> RouteFunction:
            self._routes[(method.upper(), path)] = (function, tuple(middlewares))
            return function

        return register

    def exception_handler(self, error_type: type[Exception]) -> Callable[[ErrorHandler], ErrorHandler]:
        def register(handler: ErrorHandler) -> ErrorHandler:
            self._error_handlers[error_type] = handler
            return handler

        return register

    def append_context(self, **values: Any) -> None:
        self.context.update(values)

    def resolve(self, event: Mapping[str, Any], context: object) -> dict[str, Any]:
        """The API Gateway result for one HTTP API (payload 2.0) event."""
        self.current_event = event
        try:
            return self._respond(event).result()
        finally:
            self.context.clear()

    def _respond(self, event: Mapping[str, Any]) -> Response:
        try:
            found = self._routes.get(_method_and_path(event))
            if found is None:
                return error_response(404, "not_found", "no route for this path")
            function, middlewares = found
            return _chained(function, middlewares)(self)
        except Exception as error:
            handler = next(
                (self._error_handlers[kind] for kind in type(error).__mro__ if kind in self._error_handlers), None
            )
            if handler is None:
                raise
            return handler(error)


def _chained(function: RouteFunction, middlewares: tuple[Middleware, ...]) -> NextMiddleware:
    """The first middleware runs first; the route runs once all of them have called `next`."""

    call: NextMiddleware = lambda _: function()  # noqa: E731 -- the innermost link of the chain
    for middleware in reversed(middlewares):
        call = _bound(middleware, call)
    return call


def _bound(middleware: Middleware, next_middleware: NextMiddleware) -> NextMiddleware:
    return lambda router: middleware(router, next_middleware)


def _method_and_path(event: Mapping[str, Any]) -> tuple[str, str]:
    request_context = event.get("requestContext") or {}
    method = str((request_context.get("http") or {}).get("method", "")).upper()
    path = str(event.get("rawPath") or "/")
    stage = request_context.get("stage") or "$default"
    if stage != "$default" and path.startswith(f"/{stage}"):
        path = path[len(stage) + 1 :] or "/"
    return method, path
