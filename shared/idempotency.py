"""`Idempotency-Key` for the POST routes, on the Powertools idempotency utility and its DynamoDB
table (IDEMPOTENCY_TABLE, TTL attribute `expiration`).

- Scope: the record's id is a SHA-256 of (method, path, key, caller), so one key sent to two
  routes, to two events, or by two callers (authentication on) names two records and never
  replays one request's answer for another.
- Body: a SHA-256 of the parsed JSON body (keys sorted, so spacing and key order do not matter) is
  kept with the record; the same key with another body is a 409 that says so.
- Stored: every definite answer of the route, for one hour — a 2xx, and a 4xx outcome of the
  business rules (`409 Event is full`, `404 User … not found`, `409 … already registered`): a retry
  replays it, even after a seat freed up or the user was created. Not stored: a 429 (DynamoDB
  busy: throttling, contention) or a 5xx (a 503, a 500), whose in-progress record is deleted so
  that a retry runs again; and a request
  refused before the route ran (invalid body 400, 413, a bad key), which uses no key at all.
- Concurrent requests with one key: the first writes an in-progress record (a conditional put);
  the others get a 409 until it finishes. If the Lambda dies mid-request, the record stops
  blocking once the invocation's remaining time has passed.
- Without the header the route runs exactly as before: no call to the idempotency table.

The Powertools utility is imported on first use: most requests carry no key, and cold start counts.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import Response, content_types

from shared.api import error_response
from shared.api.serialize import to_json
from shared.auth import caller_id
from shared.config import get_settings
from shared.errors import ConflictError, DomainError, InvalidRequestError, RetryLaterError, ServiceUnavailableError
from shared.observability import logger
from shared.repositories.dynamo import get_client
from shared.repositories.failures import retry_later_for

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Attribute set on every route function `idempotent` guards.
MARK = "takes_idempotency_key"
EXPIRES_AFTER_SECONDS = 60 * 60
_KEY_PREFIX = "idempotency-key"
# 1-200 printable ASCII characters; none at either end is a space, which HTTP would strip anyway.
KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$"
_VALID_KEY = re.compile(KEY_PATTERN)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class IdempotentRequest:
    """What identifies a request (method, path, key) and what a retry must repeat (body)."""

    method: str
    path: str
    key: str
    body: Any
    caller: str | None = None


def idempotent(app: APIGatewayRestResolver) -> Callable[[F], F]:
    """Route decorator, placed under `@app.post(…)`: with an Idempotency-Key the route runs at
    most once per key, and retries get its first answer again."""

    def decorate(route: F) -> F:
        # functools.wraps keeps the route's signature visible (__wrapped__) to Powertools'
        # validation, which injects the path and body parameters by name.
        @functools.wraps(route)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            request = request_of(app)
            if request is None:
                return route(*args, **kwargs)
            return run_once(request, lambda: _as_response(route(*args, **kwargs)), app.lambda_context)

        # Resolved here, against the route's own module, in case its annotations are strings.
        guarded.__signature__ = inspect.signature(route, eval_str=True)  # type: ignore[attr-defined]
        # How the OpenAPI document finds the routes that take an Idempotency-Key (local/openapi_responses.py).
        setattr(guarded, MARK, True)
        return guarded  # type: ignore[return-value]

    return decorate


def request_of(app: APIGatewayRestResolver) -> IdempotentRequest | None:
    """The current request's idempotency identity, or None without the header; a bad key is a 400."""
    event = app.current_event
    key = event.headers.get(HEADER)
    if key is None:
        return None
    if not _VALID_KEY.fullmatch(key):
        raise InvalidRequestError(f"header.{HEADER}: must be 1-200 printable ASCII characters, no space at either end")
    return IdempotentRequest(
        method=event.http_method, path=event.path, key=key, body=event.json_body, caller=caller_id(app)
    )


def run_once(request: IdempotentRequest, operation: Callable[[], Response], lambda_context: Any = None) -> Response:
    """Runs `operation` unless a request with the same identity already did (then replays its
    response) or is still running (then 409). Errors are raised as the domain errors the API maps."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyInconsistentStateError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )
    from aws_lambda_powertools.utilities.idempotency.serialization.custom_dict import CustomDictSerializer

    config = IdempotencyConfig(
        event_key_jmespath="[method, path, key, caller]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
        hash_function="sha256",
        # Bounds how long a crashed invocation's in-progress record blocks the key (without a
        # usable context Powertools would fail the request; the record then lasts the hour).
        lambda_context=lambda_context if hasattr(lambda_context, "get_remaining_time_in_millis") else None,
    )
    # Powertools reports its own bookkeeping failures in place of what the operation did; this
    # keeps the operation's outcome so the client still gets it.
    outcome: dict[str, Any] = {}

    def execute(idempotent_request: dict[str, Any]) -> Response:
        try:
            response = operation()
        except DomainError as exc:
            outcome["error"] = exc
            if exc.status >= 500 or isinstance(exc, RetryLaterError):
                raise
            # A definite answer: stored like a success; this first time the resolver still
            # answers from the exception (its metrics and logs included), with the same response.
            return error_response(exc)
        except Exception as exc:
            outcome["error"] = exc
            raise
        outcome["response"] = response
        if response.status_code >= 500 or response.status_code == 429:
            raise _NotStored(response)
        return response

    guarded = idempotent_function(
        execute,
        data_keyword_argument="idempotent_request",
        persistence_store=persistence_layer(),
        config=config,
        output_serializer=CustomDictSerializer(to_dict=_stored, from_dict=_replayed),
        key_prefix=_KEY_PREFIX,
    )
    try:
        response = guarded(idempotent_request=asdict(request))
    except _NotStored as not_stored:
        return not_stored.response
    except IdempotencyValidationError as exc:
        raise ConflictError(f"{HEADER} {request.key!r} was already used with a different request body") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise ConflictError(f"A request with this {HEADER} is still in progress; retry later") from exc
    except IdempotencyInconsistentStateError as exc:
        raise ServiceUnavailableError("The service is busy, please retry") from exc
    except IdempotencyPersistenceLayerError as exc:
        return _despite_bookkeeping_failure(exc, outcome)
    if "error" in outcome:
        raise outcome["error"]
    return response


def _despite_bookkeeping_failure(exc: Exception, outcome: dict[str, Any]) -> Response:
    """The idempotency table failed. Before the operation ran: nothing happened, 429 when DynamoDB
    was busy (503 when it failed or could not be reached). After it ran: its own answer stands (a
    success is never reported as a failure); the key then stays in progress until the invocation's
    time is up, and a retry after that runs again."""
    if "response" in outcome:
        logger.warning("idempotency record not completed", extra={"error": str(exc)})
        return outcome["response"]  # type: ignore[no-any-return]
    if "error" in outcome:
        logger.warning("idempotency record not released", extra={"error": str(exc)})
        raise outcome["error"]
    retry_later = retry_later_for(exc.__cause__)
    if retry_later is not None:
        raise retry_later from exc  # 429 when DynamoDB was busy, 503 when failing or unreachable
    raise exc


@cache
def persistence_layer() -> DynamoDBPersistenceLayer:
    """One per process, on the first request with a key; it shares the repositories' client (its
    endpoint, retry mode and timeouts)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table, boto3_client=get_client())


class _NotStored(Exception):
    """Carries a 429 or 5xx response out of the idempotent function, so that Powertools deletes the
    in-progress record instead of storing the response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _as_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=to_json(result))


def _stored(response: Response) -> dict[str, Any]:
    return {"statusCode": response.status_code, "headers": response.headers, "body": response.body}


def _replayed(stored: dict[str, Any]) -> Response:
    headers = {**stored.get("headers", {}), REPLAYED_HEADER: "true"}
    return Response(status_code=stored["statusCode"], body=stored["body"], headers=headers)
