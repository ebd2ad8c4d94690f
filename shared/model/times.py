"""How times are written wherever they must sort as text (keys, conditions, logs)."""

from __future__ import annotations

from datetime import datetime


def sortable_time(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601, so string order is time order."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
