"""Powertools Logger, Tracer and Metrics shared by every entry point.

Service name, log level and namespace come from the POWERTOOLS_* variables the
stack sets per function. Logs carry ids and counts, never message content,
phone numbers or addresses.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Threadline")
