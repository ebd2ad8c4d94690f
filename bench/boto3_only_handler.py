"""The import-time baseline: a Lambda handler that imports boto3 and nothing else."""

from __future__ import annotations

from typing import Any

import boto3


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, str]:
    return {"boto3": boto3.__version__}
