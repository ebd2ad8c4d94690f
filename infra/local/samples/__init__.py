"""Correctly signed sample webhooks, for the local stack or a deployed URL (`threadline send`).

Each provider module exposes builders `(options) -> SignedRequest`; the topology
names them with the function they exercise (`FunctionSpec.samples`). The signing
uses the same functions the webhooks verify with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra import topology


@dataclass(frozen=True)
class SampleOptions:
    """What a user may choose about a sample; each provider fills in the rest realistically."""

    public_url: str  # the base URL the provider would call (signatures cover it)
    text: str = "Hi, my order has not arrived yet."
    sender: str | None = None  # provider-specific: a phone, an email, a user id
    recipient: str | None = None
    message_id: str | None = None  # default: a fresh unique id
    kind: str | None = None  # provider-specific variant, e.g. "instagram", "whatsapp", "echo"
    in_reply_to: str | None = None  # email: the Message-ID this message answers (angle brackets optional)


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""


SampleBuilder = Callable[[SampleOptions], SignedRequest]


def signed_json(path: str, payload: Mapping[str, Any], header: str, sign: Callable[[bytes], str]) -> SignedRequest:
    """A JSON POST whose `header` carries `sign(body)`, computed over the exact bytes sent."""
    body = json.dumps(payload).encode()
    return SignedRequest("POST", path, body, {"Content-Type": "application/json", header: sign(body)})


def samples(mode: str = "webhook") -> dict[str, SampleBuilder]:
    """Sample name → builder, as infra/topology.py declares them with the function each one calls.

    `polling`: the samples a poller reads instead, each put into its provider's sandbox.
    """
    if mode == "polling":
        declared = topology.samples().items()
        return {name: topology.resolve(sample.polled) for name, sample in declared if sample.polled}
    return {name: topology.resolve(sample.builder) for name, sample in topology.samples().items()}
