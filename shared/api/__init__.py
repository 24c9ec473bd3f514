"""The one resolver factory: validation, CORS, the body limit and the mapping of every exception
to `{"detail": …}` live here, so route modules stay thin."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from shared.api import bodies
from shared.api.pagination import TOKEN_PATTERN, decode_token, encode_token
from shared.api.paths import path_problem
from shared.api.routes import match
from shared.api.serialize import to_json
from shared.auth import forget_caller
from shared.config import get_settings
from shared.errors import (
    DomainError,
    EventFullError,
    InternalError,
    InvalidRequestError,
    PayloadTooLargeError,
    RetryLaterError,
    UnauthorizedError,
)
from shared.models.fields import ID_PATTERN
from shared.observability import logger, metrics

__all__ = [
    "EventIdPath",
    "Limit",
    "NextToken",
    "UserIdPath",
    "build_app",
    "created",
    "decode_token",
    "error_response",
    "page",
]

NEXT_TOKEN_HEADER = "X-Next-Token"  # noqa: S105 - a header name, not a secret
_IDENTIFIER = re.compile(ID_PATTERN)
# Query parameters as strict as bodies: pydantic's lax mode would read ' 5', '+5', '5.0', '1_0'
# and '05' as 5. No leading zeros, as in JSON.
_LIMIT = re.compile(r"100|[1-9][0-9]?")

EventIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="Event identifier")]
UserIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="User identifier")]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100")]
NextToken = Annotated[str | None, Query(pattern=TOKEN_PATTERN, description="The X-Next-Token of the previous page")]


def detail(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=to_json({"detail": message}),
        headers=headers,
    )


def error_response(exc: DomainError) -> Response:
    """The answer to a domain error: its status and `{"detail"}` (503s say when to retry, 401s
    which scheme to use)."""
    headers = None
    if isinstance(exc, RetryLaterError):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    elif isinstance(exc, UnauthorizedError):
        headers = {"WWW-Authenticate": "Bearer"}
    return detail(exc.status, exc.detail, headers)


def created(body: dict[str, Any]) -> Response:
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=to_json(body))


def page(items: list[dict[str, Any]], scope: str, cursor: dict[str, Any] | None) -> Response:
    """A JSON array, and X-Next-Token when another page exists."""
    headers = {NEXT_TOKEN_HEADER: encode_token(scope, cursor)} if cursor else None
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=to_json(items), headers=headers)


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if error.get("type") == "json_invalid":
            return f"body: malformed JSON ({error.get('ctx', {}).get('error', 'invalid')})"
        field = ".".join(location) or "body"
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        parts.append(f"{field}: {message}")
    return "; ".join(parts) or "invalid request"


class _ObjectBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools would validate the first element of a JSON array, or a bare string, as the body
    model; a body must be a JSON object."""

    def _get_body(self, app: Any) -> dict[str, Any]:
        # Powertools would also parse form-urlencoded and multipart bodies into the model, and takes
        # any type that starts with "application/json" (application/jsonx) but not APPLICATION/JSON:
        # the media type, without its parameters, is compared case-insensitively (RFC 9110).
        content_type = app.current_event.headers.get("content-type", "").strip()
        media_type = content_type.split(";", 1)[0].strip().lower()
        if content_type and media_type != "application/json":
            raise RequestUnsupportedContentType(
                "Unsupported content type",
                errors=[{"type": "unsupported_content_type", "loc": ("body",), "msg": content_type, "input": {}}],
            )
        try:
            body = self._parse_json_data(app)
        except RecursionError:
            # json.loads gives up past about a thousand levels of nesting, far fewer than 64 KiB can hold.
            error = {"type": "json_invalid", "loc": ("body",), "msg": "", "input": {}, "ctx": {"error": "too deep"}}
            raise RequestValidationError([error]) from None
        if not isinstance(body, dict):
            raise RequestValidationError(
                [{"type": "model_type", "loc": ("body",), "msg": "must be a JSON object", "input": {}}]
            )
        unreadable = [
            {"type": "number", "loc": ("body", *location), "msg": value.reason, "input": {}}
            for location, value in bodies.unreadable_values(body)
        ]
        if unreadable:
            raise RequestValidationError(sorted(unreadable, key=lambda error: str(error["loc"])))
        return body


def build_app() -> APIGatewayRestResolver:
    settings = get_settings()
    app = APIGatewayRestResolver(
        enable_validation=True,
        json_body_deserializer=bodies.loads,
        serializer=to_json,
        cors=CORSConfig(
            allow_origin=settings.cors_allow_origin,
            allow_headers=list(settings.cors_allow_headers),
            expose_headers=[NEXT_TOKEN_HEADER, "Idempotent-Replayed", "Retry-After", "WWW-Authenticate"],
            max_age=settings.cors_max_age,
        ),
    )
    app._request_validation_middleware = _ObjectBodyValidation()

    def body_too_large() -> bool:
        body = app.current_event.body
        if body is None:
            return False
        if not isinstance(body, str):
            # serverless-offline hands over a JSON body of `false` or `0` as that value, not as text;
            # this runs in the error path too, where raising would turn a 400 into a crash.
            body = json.dumps(body)
        return len(body.encode()) > get_settings().max_body_bytes

    def limit_body(app: APIGatewayRestResolver, next_middleware: Any) -> Response:
        if body_too_large():
            raise PayloadTooLargeError(f"Request body exceeds {get_settings().max_body_bytes} bytes")
        return next_middleware(app)

    def answer_preflight(app: APIGatewayRestResolver, next_middleware: Any) -> Response:
        # Powertools would allow only the methods of this function's own routes (none in the fallback).
        route = match(app.current_event.path)
        if app.current_event.http_method == "OPTIONS" and route is not None:
            allow = {"Access-Control-Allow-Methods": ",".join(sorted(route[0] | {"OPTIONS"}))}
            return Response(status_code=204, content_type=None, body="", headers=allow)
        return next_middleware(app)

    def check_path(app: APIGatewayRestResolver, next_middleware: Any) -> Response:
        # A gateway that normalises paths before routing (serverless-offline did: `…/%2E%2E`
        # reached the parent route) must never make one route serve another route's request.
        problem = path_problem(app.current_event.raw_event)
        if problem:
            raise InvalidRequestError(problem)
        return next_middleware(app)

    def check_query(app: APIGatewayRestResolver, next_middleware: Any) -> Response:
        # Runs after Powertools' validation (which already refuses a parameter given twice).
        limit = (app.current_event.query_string_parameters or {}).get("limit")
        if limit is not None and not _LIMIT.fullmatch(limit):
            raise InvalidRequestError("query.limit: must be a plain decimal integer from 1 to 100")
        return next_middleware(app)

    def check_path_ids(app: APIGatewayRestResolver, next_middleware: Any) -> Response:
        # Powertools' route patterns refuse some characters ('#', '"', control characters) before the
        # Path(pattern=…) check runs, and ignore a trailing newline: check every path id here.
        route = match(app.current_event.path)
        invalid = [name for name, raw in (route[1] if route else {}).items() if not _IDENTIFIER.fullmatch(raw)]
        if invalid:
            raise InvalidRequestError(
                "; ".join(f"path.{name}: String should match pattern '{ID_PATTERN}'" for name in invalid)
            )
        return next_middleware(app)

    app.use(middlewares=[answer_preflight, forget_caller, limit_body, check_path, check_path_ids, check_query])

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response:
        if body_too_large():
            return detail(413, f"Request body exceeds {get_settings().max_body_bytes} bytes")
        return detail(400, _describe(list(exc.errors())))

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_content(exc: RequestUnsupportedContentType) -> Response:
        return detail(400, "body: Content-Type must be application/json")

    @app.exception_handler(DomainError)
    def domain_error(exc: DomainError) -> Response:
        if isinstance(exc, EventFullError):
            # A business outcome worth counting: demand beyond capacity with no waitlist.
            metrics.add_metric(name="EventFull", unit=MetricUnit.Count, value=1)
            logger.info("EventFull", extra={"path": app.current_event.path})
        elif isinstance(exc, InternalError):
            # AWS errors arrive here already translated by the repositories (busy is a 429,
            # failing or unreachable a 503, both with Retry-After); the rest is our fault.
            logger.exception("Internal error")
        return error_response(exc)

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:
        logger.exception("Unhandled error")
        return detail(500, "Internal server error")

    @app.not_found
    def not_found(exc: RouteNotFound) -> Response:
        path = app.current_event.path
        route = match(path)
        method = app.current_event.http_method
        if route is None or method in route[0]:
            # A known method can only get here through the fallback (e.g. an extra trailing slash).
            return detail(404, f"No route for {path}")
        allow = {"Allow": ", ".join(sorted(route[0] | {"OPTIONS"}))}
        return detail(405, f"Method {method} not allowed on {path}", allow)

    return app
