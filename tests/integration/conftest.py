"""Fixtures of the integration suite: the local stack, started as `threadline serve` in a subprocess."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.integration.stack import RUNNING, LocalStack

LOG_TAIL_LINES = 200


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """One stack for the session: tests use unique phone numbers and message ids, so they do not interfere."""
    local = LocalStack().start()
    yield local
    local.stop()


@pytest.fixture
def start_stack() -> Iterator[Callable[..., LocalStack]]:
    """Another stack with environment overrides (e.g. a tiny reopen window), stopped after the test."""
    started: list[LocalStack] = []

    def start(**environment: str) -> LocalStack:
        local = LocalStack(environment).start()
        started.append(local)
        return local

    yield start
    for local in started:
        local.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for local in RUNNING:
            tail = "\n".join(local.log_text().splitlines()[-LOG_TAIL_LINES:])
            report.sections.append((f"local stack log ({local.url})", tail))
