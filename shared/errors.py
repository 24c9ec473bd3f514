"""Domain exceptions. The API layer maps each to a status code in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client may see; `status` is the HTTP status it maps to."""

    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequestError(DomainError):
    status = 400


class UnauthorizedError(DomainError):
    """No verified identity where one is required (the gateway normally refuses such a request first)."""

    status = 401


class ForbiddenError(DomainError):
    """An authenticated caller asked for something that is not theirs to do."""

    status = 403


class NotFoundError(DomainError):
    status = 404


class ConflictError(DomainError):
    status = 409


class EventFullError(ConflictError):
    def __init__(self) -> None:
        super().__init__("Event is full")


class PayloadTooLargeError(DomainError):
    status = 413


class InternalError(DomainError):
    """Our fault (an AWS error that is not about load, among others): the client hears only this
    much; what went wrong is logged with the exception it was raised from."""

    status = 500

    def __init__(self, detail: str = "Internal server error") -> None:
        super().__init__(detail)


class RetryLaterError(DomainError):
    """Nothing was done and the same request may succeed later: answered with Retry-After."""

    status = 503
    retry_after_seconds = 1


class TooManyRequestsError(RetryLaterError):
    """More demand than DynamoDB sustains right now: throttling, or transactions on one hot item
    that kept cancelling each other until our retries were spent. A 429, never a 5xx: the service
    is up, the client is asked to slow down."""

    status = 429


class ContendedError(TooManyRequestsError):
    """A TooManyRequestsError whose cause is contention alone: transactions on one item kept
    cancelling each other (TransactionConflict), while DynamoDB itself had room. A registration
    that meets it goes to admission (shared/managers/admission.py) instead of answering 429."""


class ServiceUnavailableError(RetryLaterError):
    """DynamoDB failed on its side (its own 500s) or could not be reached: the client may retry later."""

    status = 503
