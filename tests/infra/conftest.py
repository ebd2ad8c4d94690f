"""Infra tests synthesize the CDK app in-process; the default stack once per test session."""

from __future__ import annotations

import os

import pytest

# jsii starts its Node process at the first aws_cdk import (in tests.infra.synth);
# its warnings about Node's age are noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

from tests.infra.synth import Synthesized, synthesize  # after the environment above


@pytest.fixture(scope="session")
def default_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack exactly as `cdk synth` makes it from cdk.json, minus the real layer build."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))
