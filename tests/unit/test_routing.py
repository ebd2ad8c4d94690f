"""The webhooks' router answers as Powertools' APIGatewayHttpResolver did for the parts they use."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.http import Response
from shared.ingest.routing import NextMiddleware, Router


def event(method: str, path: str, stage: str = "$default") -> dict[str, Any]:
    return {"rawPath": path, "requestContext": {"http": {"method": method}, "stage": stage}}


def ok(body: str) -> Response:
    return Response(status_code=200, content_type="text/plain", body=body)


def test_a_route_is_a_method_and_an_exact_path_and_its_answer_is_an_http_api_result() -> None:
    # Given a router with one GET and one POST route on the same path
    router = Router()
    router.get("/hooks")(lambda: ok("challenge"))
    router.post("/hooks")(lambda: ok("received"))

    # When each method and an unknown path are resolved
    got, posted = router.resolve(event("GET", "/hooks"), None), router.resolve(event("post", "/hooks"), None)
    missing = router.resolve(event("POST", "/hooks/"), None)

    # Then each method reaches its own route, and an unknown path is a JSON 404
    assert got == {
        "statusCode": 200,
        "body": "challenge",
        "isBase64Encoded": False,
        "headers": {"Content-Type": "text/plain"},
        "cookies": [],
    }
    assert posted["body"] == "received"
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"]["code"] == "not_found"
    assert router.routes == [("GET", "/hooks"), ("POST", "/hooks")]


def test_a_named_stage_is_stripped_from_the_path_as_powertools_does() -> None:
    router = Router()
    router.post("/hooks")(lambda: ok("received"))

    assert router.resolve(event("POST", "/live/hooks", stage="live"), None)["statusCode"] == 200


def test_middlewares_run_in_order_around_the_route_and_may_answer_instead_of_it() -> None:
    # Given two middlewares that record the order and a third that refuses
    calls: list[str] = []

    def first(router: Router, next_middleware: NextMiddleware) -> Response:
        calls.append("first")
        return next_middleware(router)

    def second(router: Router, next_middleware: NextMiddleware) -> Response:
        calls.append("second")
        return next_middleware(router)

    def refuse(router: Router, next_middleware: NextMiddleware) -> Response:
        return Response(status_code=401, content_type="text/plain", body="no")

    router = Router()
    router.post("/open", middlewares=[first, second])(lambda: ok(",".join([*calls, "route"])))
    router.post("/closed", middlewares=[refuse])(lambda: ok("never"))

    # Then the route runs after both, in order; a refusal answers without the route
    assert router.resolve(event("POST", "/open"), None)["body"] == "first,second,route"
    assert router.resolve(event("POST", "/closed"), None)["statusCode"] == 401


def test_an_error_goes_to_the_handler_of_its_nearest_class_and_an_unhandled_one_propagates() -> None:
    class Refused(ValueError):
        pass

    router = Router()
    router.exception_handler(ValueError)(lambda error: Response(400, "text/plain", f"value: {error}"))
    router.exception_handler(Refused)(lambda error: Response(403, "text/plain", "refused"))

    def raise_(error: Exception) -> Response:
        raise error

    router.post("/refused")(lambda: raise_(Refused("x")))
    router.post("/invalid")(lambda: raise_(ValueError("bad")))
    router.post("/broken")(lambda: raise_(RuntimeError("bug")))

    assert router.resolve(event("POST", "/refused"), None)["statusCode"] == 403
    assert router.resolve(event("POST", "/invalid"), None)["body"] == "value: bad"
    with pytest.raises(RuntimeError):
        router.resolve(event("POST", "/broken"), None)


def test_the_context_and_the_event_belong_to_one_invocation() -> None:
    router = Router()

    def route() -> Response:
        seen = router.context.get("earlier")
        router.append_context(earlier=router.current_event["rawPath"])
        return ok(str(seen))

    router.post("/a")(route)

    assert router.resolve(event("POST", "/a"), None)["body"] == "None"
    assert router.resolve(event("POST", "/a"), None)["body"] == "None"  # cleared after the first
    assert router.context == {}
