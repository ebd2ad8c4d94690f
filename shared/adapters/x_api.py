"""The X API v2 over HTTPS: reads on a user's behalf, and the OAuth 2.0 refresh that keeps them possible.

The base URL is configuration (`THREADLINE_X_API_URL`): `https://api.x.com` when
deployed, the local sandbox (`/_sandbox/x`) under `threadline serve`; both go
through this same code. Requests: `GET /2/users/{id}/mentions`, `GET /2/dm_events`
(Bearer user token), `POST /2/oauth2/token` with `grant_type=refresh_token`
(docs.x.com, "OAuth 2.0 Authorization Code Flow with PKCE": a confidential
client authenticates with HTTP Basic `client_id:client_secret`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from shared.adapters.https import Transport, UrllibTransport, require_https
from shared.model.failures import DependencyUnavailable, TokenRejected
from shared.model.x_polling import ApiAnswer, RateWindow, TokenGrant

TOKEN_PATH = "/2/oauth2/token"  # noqa: S105 - a path, not a secret
USER_AGENT = "Threadline/1"


class XUnavailable(DependencyUnavailable):
    """X answered with something other than a grant: back off and try on a later run."""


class XApiClient:
    def __init__(self, base_url: str, transport: Transport | None = None) -> None:
        self._base_url = require_https(base_url, "X")
        self._transport = transport or UrllibTransport()

    def get(self, path: str, query: Mapping[str, str], access_token: str) -> ApiAnswer:
        url = f"{self._base_url}{quote(path)}?{urlencode(query)}"
        headers = {"Authorization": f"Bearer {access_token}", "User-Agent": USER_AGENT}
        status, answer_headers, body = self._transport.send("GET", url, headers, None)
        return ApiAnswer(status=status, body=body, rate=rate_window(answer_headers))

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> TokenGrant:
        """Trade the refresh token for a new access token and a new refresh token (the old one is spent)."""
        credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        form = urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id})
        headers = {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
        }
        status, _, body = self._transport.send("POST", self._base_url + TOKEN_PATH, headers, form.encode())
        if status in (400, 401):
            # {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
            raise TokenRejected(_oauth_error(body))
        if status != 200:
            raise XUnavailable(f"the token endpoint answered {status}")
        try:
            grant = json.loads(body)
            return TokenGrant(
                access_token=str(grant["access_token"]),
                expires_in_s=int(grant.get("expires_in", 7200)),
                refresh_token=str(grant["refresh_token"]) if grant.get("refresh_token") else None,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise XUnavailable("the token endpoint answered something that is not a grant") from error


def rate_window(headers: Mapping[str, str]) -> RateWindow:
    """`x-rate-limit-limit`, `-remaining` and `-reset` (Unix seconds); X sends no Retry-After."""

    def number(name: str) -> int | None:
        value = headers.get(name, "").strip()
        return int(value) if value.isdigit() else None

    reset = number("x-rate-limit-reset")
    return RateWindow(
        limit=number("x-rate-limit-limit"),
        remaining=number("x-rate-limit-remaining"),
        reset_at=datetime.fromtimestamp(reset, tz=UTC) if reset is not None and reset < 2**40 else None,
    )


def _oauth_error(body: bytes) -> str:
    """The OAuth error code only (`invalid_request`, `invalid_grant`, `invalid_client`): never a token."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return "unreadable answer"
    return str(error)[:64] if isinstance(error, str) else "unknown error"
