"""The local X sandbox refuses what X refuses and pages, limits and rotates tokens as X does (no sockets)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.local.gateway import HttpRequest, HttpResponse
from infra.local.sandbox import Sandboxes
from infra.local.sandbox.x import XSandbox
from infra.local.sandbox.x_state import ACCOUNT_ID, CLIENT_ID, CUSTOMER_ID
from infra.topology import X_OAUTH2_CLIENT_SECRET, X_OAUTH2_TOKENS
from shared.adapters.x_api import XApiClient
from shared.channels.x_v2 import DM_EVENTS_QUERY, MENTIONS_QUERY
from shared.model.failures import TokenRejected
from tests.fakes_x import SANDBOX_URL, Clock, SandboxTransport, x_sandbox


def call(sandbox: XSandbox, method: str, path: str, *, token: str | None = None, **query: Any) -> HttpResponse:
    headers = [("Authorization", f"Bearer {token}")] if token else []
    target = f"/_sandbox/x{path}" + (f"?{urlencode(query)}" if query else "")
    return sandbox.handle(HttpRequest(method, target, headers), path)


def access_token(sandbox: XSandbox) -> str:
    return (
        XApiClient(SANDBOX_URL, SandboxTransport(sandbox))
        .refresh(CLIENT_ID, X_OAUTH2_CLIENT_SECRET.local_default, X_OAUTH2_TOKENS.local_default)
        .access_token
    )


@pytest.fixture
def sandbox() -> XSandbox:
    return x_sandbox(Clock())


def test_it_is_mounted_by_the_registry_under_its_provider_name() -> None:
    assert "x" in Sandboxes.discover().providers
    answer = Sandboxes.discover().handle(HttpRequest("GET", "/_sandbox/nobody/2/anything", []))
    assert answer.status == 404


def test_a_read_without_a_valid_bearer_token_is_401(sandbox: XSandbox) -> None:
    assert call(sandbox, "GET", "/2/dm_events").status == 401
    assert call(sandbox, "GET", "/2/dm_events", token="made-up").status == 401


@pytest.mark.parametrize(
    "query",
    [{"max_results": "500"}, {"expansions": "author_id,not_an_expansion"}, {"cursor": "x"}, {"since_id": "abc"}],
)
def test_a_query_x_would_refuse_is_400_invalid_request(sandbox: XSandbox, query: dict[str, str]) -> None:
    answer = call(sandbox, "GET", f"/2/users/{ACCOUNT_ID}/mentions", token=access_token(sandbox), **query)

    assert answer.status == 400
    assert json.loads(answer.body)["type"] == "https://api.twitter.com/2/problems/invalid-request"


def test_what_the_poller_asks_for_is_accepted(sandbox: XSandbox) -> None:
    token = access_token(sandbox)
    assert call(sandbox, "GET", f"/2/users/{ACCOUNT_ID}/mentions", token=token, **MENTIONS_QUERY).status == 200
    assert call(sandbox, "GET", "/2/dm_events", token=token, **DM_EVENTS_QUERY).status == 200


def test_dm_events_page_newest_first_with_tokens_x_would_give(sandbox: XSandbox) -> None:
    ids = [sandbox.world.add_dm(CUSTOMER_ID, ACCOUNT_ID, f"dm {n}").id for n in range(3)]
    token = access_token(sandbox)

    first = json.loads(call(sandbox, "GET", "/2/dm_events", token=token, max_results="2").body)
    rest = json.loads(
        call(
            sandbox, "GET", "/2/dm_events", token=token, max_results="2", pagination_token=first["meta"]["next_token"]
        ).body
    )

    assert [event["id"] for event in first["data"]] == ids[:0:-1]
    assert len(first["meta"]["next_token"]) >= 16  # X's DM pagination tokens are base32, 16 characters or more
    assert [event["id"] for event in rest["data"]] == ids[:1]
    assert "next_token" not in rest["meta"]


def test_every_answer_carries_the_rate_window_and_a_spent_one_is_429(sandbox: XSandbox) -> None:
    sandbox.world.set_limit("dm_events", 1)
    token = access_token(sandbox)

    ok, spent = call(sandbox, "GET", "/2/dm_events", token=token), call(sandbox, "GET", "/2/dm_events", token=token)

    assert (ok.status, spent.status) == (200, 429)
    assert dict(ok.headers)["x-rate-limit-remaining"] == "0"
    assert dict(spent.headers)["x-rate-limit-reset"].isdigit()
    assert json.loads(spent.body)["title"] == "Too Many Requests"


def test_a_refresh_rotates_the_refresh_token_and_a_spent_one_is_refused(sandbox: XSandbox) -> None:
    api = XApiClient(SANDBOX_URL, SandboxTransport(sandbox))
    secret = X_OAUTH2_CLIENT_SECRET.local_default

    grant = api.refresh(CLIENT_ID, secret, X_OAUTH2_TOKENS.local_default)

    assert grant.refresh_token and grant.refresh_token != X_OAUTH2_TOKENS.local_default
    assert grant.expires_in_s == 7200
    with pytest.raises(TokenRejected, match="invalid_request"):
        api.refresh(CLIENT_ID, secret, X_OAUTH2_TOKENS.local_default)
    with pytest.raises(TokenRejected, match="unauthorized_client"):
        api.refresh(CLIENT_ID, "wrong-secret", grant.refresh_token)


def test_the_token_endpoint_wants_basic_auth_of_the_client(sandbox: XSandbox) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{X_OAUTH2_CLIENT_SECRET.local_default}".encode()).decode()
    form = urlencode({"grant_type": "refresh_token", "refresh_token": X_OAUTH2_TOKENS.local_default})
    request = HttpRequest(
        "POST",
        "/_sandbox/x/2/oauth2/token",
        [("Authorization", f"Basic {basic}"), ("Content-Type", "application/x-www-form-urlencoded")],
        form.encode(),
    )

    answer = sandbox.handle(request, "/2/oauth2/token")

    assert answer.status == 200
    assert json.loads(answer.body)["token_type"] == "bearer"
