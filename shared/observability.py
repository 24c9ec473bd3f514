"""Logger and metrics, created once per process, and the one decorator stack every handler wears
(`api_handler`, `observed`). Tracing is switched on by configuration (TRACING_ENABLED=true) and
imported only then: the X-Ray SDK alone costs ~170 ms of cold start."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from shared import snapstart
from shared.config import get_settings

logger = Logger(service=get_settings().service_name)
metrics = Metrics(namespace=get_settings().metrics_namespace)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    return get_settings().tracing_enabled


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


# Set on the handler `observed` returns: tests/unit/test_handlers.py checks that every function's
# lambda_handler carries it, so no handler can drop a layer (a metric added to a route whose
# handler lacked log_metrics would never be published).
OBSERVED = "_observed_by_shared_observability"


def observed(handler: Handler, correlation_id_path: str | None = None) -> Handler:
    """The decorator stack of every Lambda, outermost first: logger context (with the correlation
    id read from `correlation_id_path`), the metrics flush, tracing when switched on."""
    with_context = logger.inject_lambda_context(correlation_id_path=correlation_id_path)
    wrapped = with_context(metrics.log_metrics(traced(handler)))
    setattr(wrapped, OBSERVED, True)
    return cast(Handler, wrapped)


def api_handler(app: Any) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """An API function's `lambda_handler`: `app.resolve` under the stack above, with API Gateway's
    request id as the correlation id. Call it last in the module (see `traced`)."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)  # type: ignore[no-any-return]

    return observed(lambda_handler, correlation_id_path=correlation_paths.API_GATEWAY_REST)
