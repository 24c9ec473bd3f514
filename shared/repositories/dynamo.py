"""The DynamoDB client (one per process, created lazily), (de)serialisation and error translation."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachableError

from shared.config import get_settings
from shared.errors import InvalidRequestError, ServiceUnavailableError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

T = TypeVar("T")

MAX_ATTEMPTS = 6  # per call, the first try included (botocore's `max_attempts: 5` counted retries)

# Errors that mean "DynamoDB is busy, try again": botocore's standard retry mode already retries
# them per call (TransactionConflictException through _retry_item_conflicts below); when they
# still surface, the client gets a 503 with Retry-After.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)

# Why a transaction may be cancelled with nothing wrong in the request: another transaction on
# the same item, or throttling. No condition was evaluated false, so running it again is safe.
_BUSY_CANCELLATION_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


@cache
def get_client() -> Any:
    from botocore.config import Config

    from shared.repositories.clients import session

    settings = get_settings()
    client = session().client(
        "dynamodb",
        region_name=settings.region,
        endpoint_url=settings.dynamodb_endpoint,
        # Standard mode retries throttling, 5xx (InternalServerError) and dropped connections, with
        # jittered exponential backoff; TransactWriteItems carries an automatic ClientRequestToken,
        # so a retried transaction is applied at most once.
        config=Config(
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}, connect_timeout=3, read_timeout=10
        ),
    )
    client.meta.events.register("needs-retry.dynamodb", _retry_item_conflicts, unique_id="retry-item-conflicts")
    return client


def _retry_item_conflicts(response: Any = None, attempts: int = 0, **_: Any) -> float | None:
    """The one busy error standard mode leaves alone: a single-item write that met a transaction in
    progress on its item (TransactionConflictException). DynamoDB refused it without applying it,
    so it is retried like the others: bounded, with full jitter. Returns the delay, or None."""
    if response is None or attempts >= MAX_ATTEMPTS:
        return None
    if response[1].get("Error", {}).get("Code") != "TransactionConflictException":
        return None
    return random.uniform(0, min(0.2, 0.025 * 2**attempts))


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items() if value is not None}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def value(python_value: Any) -> dict[str, Any]:
    return _serializer.serialize(python_value)


def _plain(val: Any) -> Any:
    # Numbers come back as Decimal; every number this API stores is an integer.
    if type(val).__name__ == "Decimal":
        return int(val)
    return val


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_reasons(exc: ClientError) -> list[dict[str, Any]]:
    return list(exc.response.get("CancellationReasons") or [])


def is_busy_cancellation(reasons: list[dict[str, Any]]) -> bool:
    """A transaction cancelled only by contention or throttling (no condition failed): safe to retry."""
    codes = {reason.get("Code") for reason in reasons} - {"None", None}
    return bool(codes) and codes <= _BUSY_CANCELLATION_REASONS


def backoff(attempt: int, base: float = 0.005, cap: float = 0.2) -> None:
    """Full-jitter exponential backoff."""
    time.sleep(random.uniform(0, min(cap, base * (2**attempt))))


def is_busy(exc: ClientError) -> bool:
    """DynamoDB refused for load or contention, not because of the request: a retry may succeed."""
    code = error_code(exc)
    return code in RETRYABLE_CODES or (
        code == "TransactionCanceledException" and is_busy_cancellation(cancellation_reasons(exc))
    )


def is_unavailable(exc: BaseException) -> bool:
    """What the client should hear as 503 + Retry-After once our retries are spent: DynamoDB busy,
    or unreachable (connection refused, reset or timed out)."""
    if isinstance(exc, ClientError):
        return is_busy(exc)
    return isinstance(exc, EndpointUnreachableError | HTTPClientError)


def retry_transaction(operation: Callable[[], T]) -> T:
    """Runs a transaction, retrying (bounded, with jitter) when it was cancelled only by contention
    or throttling. Each attempt is all or nothing, so giving up leaves nothing half-applied."""
    attempts = get_settings().transaction_attempts
    for attempt in range(attempts):
        try:
            return operation()
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException" or not is_busy_cancellation(cancellation_reasons(exc)):
                raise
            if attempt == attempts - 1:
                raise ServiceUnavailableError("The service is busy, please retry") from exc
            backoff(attempt)
    raise AssertionError("unreachable")


def query_page(
    client: Any,
    operation: str,
    params: dict[str, Any],
    limit: int,
    cursor: dict[str, Any] | None,
    key_names: tuple[str, ...],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of a Query or Scan. Reads one item more than asked for, so that a list which fits
    in one page ends with no cursor (DynamoDB alone would hand back a key to an empty page)."""
    request = {**params, "Limit": limit + 1}
    if cursor:
        check_cursor(cursor, key_names, params)
        request["ExclusiveStartKey"] = cursor
    response = getattr(client, operation)(**request)
    items = response.get("Items", [])
    if len(items) > limit:
        items = items[:limit]
        return items, {name: items[-1][name] for name in key_names}
    return items, response.get("LastEvaluatedKey")


# The only numeric key attribute of the data model (Waitlist's sort key); every other key is a string.
_NUMERIC_KEYS = frozenset({"position"})
_NUMBER = re.compile(r"-?[0-9]{1,38}")
_PARTITION_CONDITION = re.compile(r"\s*(#?\w+)\s*=\s*(:\w+)")


def check_cursor(cursor: dict[str, Any], key_names: tuple[str, ...], params: dict[str, Any]) -> None:
    """A cursor from a page token is signed, but must still be a key of this very list before it
    reaches DynamoDB (which answers a foreign one with a ValidationException): exactly the list's
    key attributes, each of its type and non-empty, and the partition the list queries."""
    invalid = InvalidRequestError("nextToken is invalid, expired or belongs to another list")
    if set(cursor) != set(key_names):
        raise invalid
    for name, attribute in cursor.items():
        kind = "N" if name in _NUMERIC_KEYS else "S"
        if not isinstance(attribute, dict) or set(attribute) != {kind} or not isinstance(attribute[kind], str):
            raise invalid
        text = attribute[kind]
        if not (_NUMBER.fullmatch(text) if kind == "N" else 0 < len(text.encode()) <= 1024):
            raise invalid
    condition = _PARTITION_CONDITION.match(params.get("KeyConditionExpression", ""))
    if condition:
        name = params.get("ExpressionAttributeNames", {}).get(condition.group(1), condition.group(1))
        if cursor.get(name) != params["ExpressionAttributeValues"][condition.group(2)]:
            raise invalid
