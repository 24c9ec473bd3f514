"""AWS failures, turned into the project's own errors before they leave a repository.

Busy (throttling, contention), once botocore's retries and ours are spent, is TooManyRequestsError:
a 429 with Retry-After (more demand than DynamoDB sustains; never a 5xx). DynamoDB's own 5xx or
unreachable (connection refused, reset or timed out) is ServiceUnavailableError: a 503 with
Retry-After. Either way each write is all or nothing and a route with several steps is safe to repeat.
Anything else is DynamoDBError, an InternalError (500) that a repository may still read — a
failed condition, a cancelled transaction's reasons — before deciding what it means.

Also here: what counts as busy, and the bounded retries of busy transactions and item conflicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachableError

from shared import retry
from shared.config import get_settings
from shared.errors import ContendedError, DomainError, InternalError, ServiceUnavailableError, TooManyRequestsError
from shared.observability import logger

T = TypeVar("T")

MAX_ATTEMPTS = 6  # per call, the first try included (botocore's `max_attempts: 5` counted retries)
BUSY = "Too many requests at once for this resource, please retry after Retry-After seconds"
UNAVAILABLE = "The service is unavailable, please retry"

# Errors that mean "too much at once, try again": botocore's standard retry mode already retries
# them per call (TransactionConflictException through retry_item_conflicts below); when they still
# surface, the client gets a 429 with Retry-After.
LOAD_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
# DynamoDB failing on its side: retried the same way; what still surfaces is a 503 with Retry-After.
SERVER_CODES = frozenset({"InternalServerError", "ServiceUnavailable"})

# Why a transaction may be cancelled with nothing wrong in the request: another transaction on
# the same item, or throttling. No condition was evaluated false, so running it again is safe.
_BUSY_CANCELLATION_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


class DynamoDBError(InternalError):
    """DynamoDB refused a request for a reason that is not load: a failed condition, a cancelled
    transaction, an invalid request. Repositories read `code`, `reasons` and `item`; one that
    none of them handles answers 500, its cause logged and never shown."""

    def __init__(self, exc: ClientError) -> None:
        super().__init__()
        self.code = error_code(exc)
        self.reasons = cancellation_reasons(exc)
        # The item as it was, when a single-item write asked for it (ReturnValuesOnConditionCheckFailure).
        self.item: dict[str, Any] | None = exc.response.get("Item")

    @property
    def condition_failed(self) -> bool:
        return self.code == "ConditionalCheckFailedException"

    def failed(self, index: int) -> bool:
        """The transaction was cancelled because the condition of its action `index` failed."""
        return (
            self.code == "TransactionCanceledException"
            and len(self.reasons) > index
            and self.reasons[index].get("Code") == "ConditionalCheckFailed"
        )

    def old_item(self, index: int) -> dict[str, Any] | None:
        """The item behind a failed action of a transaction (when the action asked for it)."""
        return self.reasons[index].get("Item") if len(self.reasons) > index else None


def guarded(operation: Callable[[], T]) -> T:
    """Runs one DynamoDB call; an AWS failure leaves as one of the project's errors."""
    try:
        return operation()
    except (ClientError, BotoCoreError) as exc:
        raise translated(exc) from exc


def translated(exc: ClientError | BotoCoreError) -> DomainError:
    if is_unavailable(exc):
        code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        if isinstance(exc, ClientError) and is_overloaded(exc):
            logger.warning("DynamoDB busy", extra={"code": code})
            return TooManyRequestsError(BUSY)
        logger.warning("DynamoDB unavailable", extra={"code": code})
        return ServiceUnavailableError(UNAVAILABLE)
    if isinstance(exc, ClientError):
        return DynamoDBError(exc)
    return InternalError()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_reasons(exc: ClientError) -> list[dict[str, Any]]:
    return list(exc.response.get("CancellationReasons") or [])


def is_busy_cancellation(reasons: list[dict[str, Any]]) -> bool:
    """A transaction cancelled only by contention or throttling (no condition failed): safe to retry."""
    codes = {reason.get("Code") for reason in reasons} - {"None", None}
    return bool(codes) and codes <= _BUSY_CANCELLATION_REASONS


def is_overloaded(exc: ClientError) -> bool:
    """Busy because of load (throttling, contention), not because DynamoDB failed on its side."""
    code = error_code(exc)
    return code in LOAD_CODES or (
        code == "TransactionCanceledException" and is_busy_cancellation(cancellation_reasons(exc))
    )


def is_busy(exc: ClientError) -> bool:
    """DynamoDB refused for load or contention, or failed on its side, not because of the request:
    a retry may succeed."""
    return error_code(exc) in SERVER_CODES or is_overloaded(exc)


def is_unavailable(exc: BaseException) -> bool:
    """What the client should hear as "retry later" once our retries are spent: DynamoDB busy (a
    429), failing on its side or unreachable (connection refused, reset or timed out: a 503)."""
    if isinstance(exc, ClientError):
        return is_busy(exc)
    return isinstance(exc, EndpointUnreachableError | HTTPClientError)


def retry_later_for(exc: BaseException | None) -> DomainError | None:
    """What a client should hear for an AWS failure caught by someone else (the idempotency
    utility wraps them): 429 busy, 503 failing or unreachable; None when it is no such failure."""
    if isinstance(exc, ClientError | BotoCoreError) and is_unavailable(exc):
        return translated(exc)
    return None


def retry_transaction(operation: Callable[[], T], attempts: int | None = None) -> T:
    """Runs a transaction, retrying (bounded, with jitter) when it was cancelled only by contention
    or throttling. Each attempt is all or nothing, so giving up leaves nothing half-applied.
    `attempts`: at most that many (default: TRANSACTION_ATTEMPTS)."""
    attempts = attempts or get_settings().transaction_attempts
    for attempt in range(attempts):
        try:
            return operation()
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException" or not is_busy_cancellation(cancellation_reasons(exc)):
                raise
            if attempt == attempts - 1:
                contended = {r.get("Code") for r in cancellation_reasons(exc)} <= {"TransactionConflict", "None", None}
                raise (ContendedError if contended else TooManyRequestsError)(BUSY) from exc
            retry.backoff(attempt)
    raise AssertionError("unreachable")


def retry_item_conflicts(response: Any = None, attempts: int = 0, **_: Any) -> float | None:
    """The one busy error standard mode leaves alone: a single-item write that met a transaction in
    progress on its item (TransactionConflictException). DynamoDB refused it without applying it,
    so it is retried like the others: bounded, with full jitter. Returns the delay, or None."""
    if response is None or attempts >= MAX_ATTEMPTS:
        return None
    if response[1].get("Error", {}).get("Code") != "TransactionConflictException":
        return None
    return retry.jitter(attempts, base=0.025, cap=0.2)
