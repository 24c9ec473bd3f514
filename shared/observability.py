"""Logger and metrics, created once per process. Tracing is switched on by configuration
(TRACING_ENABLED=true) and imported only then: the X-Ray SDK alone costs ~170 ms of cold start."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

from shared import snapstart

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "event-registrations"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "EventRegistrations"))

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    return os.environ.get("TRACING_ENABLED", "false").lower() == "true"


def traced(handler: Handler) -> Handler:
    """X-Ray tracing of the whole invocation (and of boto3 calls, which Tracer patches) when
    TRACING_ENABLED is true; otherwise the handler itself, and nothing imported.

    Every handler applies it last, as its module's import ends: the garbage collector that
    functions/__init__.py paused for the import starts again here, and the SnapStart hooks are
    registered (shared/snapstart.py)."""
    if not gc.isenabled():
        # What the import built lives as long as the process: no collection needs to scan it again.
        gc.freeze()
        gc.enable()
    snapstart.register()
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer(service=logger.service).capture_lambda_handler(handler)  # type: ignore[return-value]
