"""EventBridge Scheduler, locally: a thread that invokes a scheduled function at a fixed interval.

Deployed, the stack's schedule invokes it every `schedule_minutes` (cdk.json may
change it); locally every THREADLINE_LOCAL_SCHEDULE_SECONDS (default 5), so a
message put in a provider sandbox shows up in seconds. A run never overlaps the
previous one here; deployed, the function's timeout keeps it under the rate.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from infra.local.invoker import FunctionInvoker
from infra.local.moto_backend import LocalResources
from infra.topology import FunctionSpec

log = logging.getLogger("threadline.local")

DEFAULT_INTERVAL_S = 5.0


def scheduled_event(spec: FunctionSpec) -> dict[str, Any]:
    """What the stack's schedule sends (infra/cdk/schedules.py sets the same input)."""
    return {"schedule": spec.name, "id": str(uuid.uuid4()), "time": datetime.now(UTC).isoformat()}


class ScheduleTimer:
    def __init__(self, spec: FunctionSpec, invoker: FunctionInvoker, interval_s: float) -> None:
        self._spec = spec
        self._invoker = invoker
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"timer-{spec.name}", daemon=True)
        self._busy = False
        self._runs = 0
        self._failed = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=self._spec.timeout_s + 5)

    def status(self) -> dict[str, Any]:
        return {"function": self._spec.name, "busy": self._busy, "runs": self._runs, "failed": self._failed}

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self._busy = True
            started = time.perf_counter()
            try:
                result = self._invoker.invoke(self._spec, scheduled_event(self._spec))
                log.debug("%s: %s (%.0f ms)", self._spec.name, result, (time.perf_counter() - started) * 1000)
            except Exception:
                self._failed += 1
                log.exception("%s raised; the next tick runs it again", self._spec.name)
            finally:
                self._runs += 1
                self._busy = False


def interval_s() -> float:
    return float(os.environ.get("THREADLINE_LOCAL_SCHEDULE_SECONDS") or DEFAULT_INTERVAL_S)


def schedule(spec: FunctionSpec, invoker: FunctionInvoker, resources: LocalResources) -> ScheduleTimer:
    return ScheduleTimer(spec, invoker, interval_s())
