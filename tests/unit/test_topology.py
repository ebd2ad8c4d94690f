"""infra/topology.py is the one declaration: each handler, sample, secret and source kind agrees with it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from infra import topology
from infra.topology import FUNCTIONS, SOURCE_KINDS, FunctionSpec, Route, Source
from shared.ingest.routing import Router
from shared.model.contact import Provider

ROOT = Path(__file__).resolve().parents[2]
HTTP_FUNCTIONS = [spec for spec in FUNCTIONS if spec.routes]


def handler_routes(spec: FunctionSpec) -> set[Route]:
    """A webhook's `Router`, or /v1's Powertools resolver."""
    app = importlib.import_module(spec.module).app
    if isinstance(app, Router):
        return {Route(method, path) for method, path in app.routes}
    return {Route(route.method, route.openapi_path) for route in (*app._static_routes, *app._dynamic_routes)}


@pytest.mark.parametrize("spec", HTTP_FUNCTIONS, ids=lambda spec: spec.name)
def test_each_handler_serves_exactly_the_routes_its_spec_declares(spec: FunctionSpec) -> None:
    assert handler_routes(spec) == set(spec.routes)


def secrets_read_by(spec: FunctionSpec) -> set[str]:
    """String literals a handler passes to `get_secret(...)`, or as a `secret=`/`*_secret=` keyword
    (`verified_by(..., secret=...)`, `get_x_poller(client_secret=..., token_secret=...)`)."""
    tree = ast.parse((ROOT / "functions" / spec.name / "handler.py").read_text())
    read = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id == "get_secret" and node.args and isinstance(node.args[0], ast.Constant):
            read.add(str(node.args[0].value))
        read |= {
            str(keyword.value.value)
            for keyword in node.keywords
            if keyword.arg
            and (keyword.arg == "secret" or keyword.arg.endswith("_secret"))
            and isinstance(keyword.value, ast.Constant)
        }
    return read


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_a_handler_reads_only_the_secrets_its_spec_declares(spec: FunctionSpec) -> None:
    # The stack grants a function exactly its declared secrets: an undeclared one would fail when deployed.
    assert secrets_read_by(spec) <= {secret.name for secret in spec.secrets}


def test_every_provider_is_received_by_exactly_one_kind_of_function() -> None:
    declared = [spec.provider for spec in FUNCTIONS if spec.provider is not None]
    assert set(declared) == set(Provider)
    channel_functions = [spec for spec in FUNCTIONS if spec.channel is not None]
    assert all(spec.provider is not None for spec in channel_functions)


def test_one_secret_name_means_one_secret() -> None:
    declared = [secret for spec in FUNCTIONS for secret in spec.secrets]
    by_name = {secret.name: secret for secret in declared}
    assert all(secret == by_name[secret.name] for secret in declared)
    assert all(secret.local_default.startswith("dev-") for secret in by_name.values())


def test_every_sample_builds_a_signed_request_for_a_route_of_its_function() -> None:
    from infra.local.samples import SampleOptions, samples

    names = [sample.name for spec in FUNCTIONS for sample in spec.samples]
    assert len(names) == len(set(names))
    built = samples()
    for spec in FUNCTIONS:
        for sample in spec.samples:
            request = built[sample.name](SampleOptions(public_url="http://127.0.0.1:8080"))
            assert Route(request.method, request.path) in spec.routes, sample.name


def test_every_polled_sample_puts_its_message_into_a_provider_sandbox() -> None:
    from infra.local.samples import SampleOptions, samples
    from infra.local.sandbox import PREFIX, Sandboxes

    polled = samples("polling")
    assert set(polled) == {"x-dm", "x-mention"}
    providers = Sandboxes.discover().providers
    for name, build in polled.items():
        request = build(SampleOptions(public_url="http://127.0.0.1:8080"))
        assert request.path.startswith(PREFIX), name
        assert request.path.removeprefix(PREFIX).split("/")[0] in providers, name


def test_a_scheduled_function_names_its_rate_and_ends_before_the_next_run() -> None:
    for spec in FUNCTIONS:
        if spec.source is Source.SCHEDULE:
            assert spec.schedule_minutes is not None, spec.name
            assert spec.timeout_s < spec.schedule_minutes * 60, spec.name


def test_every_source_has_a_kind_and_its_local_half_resolves() -> None:
    assert set(SOURCE_KINDS) == set(Source)
    for source, kind in SOURCE_KINDS.items():
        assert (kind.local is None) == (kind.local_mode == "http"), source
        assert (kind.inject_name is not None) == (kind.local_mode == "inject"), source
        if kind.local is not None:
            assert callable(topology.resolve(kind.local)), source


def test_a_source_that_arrives_over_http_belongs_to_a_function_with_a_route() -> None:
    for spec in FUNCTIONS:
        if spec.source is not None and SOURCE_KINDS[spec.source].local_mode == "http":
            assert spec.routes, spec.name
