"""What the transactions across tables share: the event's side of a registration, a join or an
unregistration (its conditions, the counters it hands back when they fail) and the reading of a
cancelled transaction's reasons into the project's errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.auth import not_owner
from shared.errors import ConflictError, NotFoundError
from shared.models.fields import OPEN_STATUSES
from shared.repositories.dynamo import deserialize, value
from shared.repositories.failures import DynamoDBError
from shared.repositories.keys import (
    EVENT_LIVE,
    MOVE_COUNTER_VERSION,
    OWNED_BY,
    WAITLISTED,
    event_key,
    is_live,
    user_key,
)

ONE = value(1)
ZERO = value(0)
SEAT_FREE = "(attribute_not_exists(#capacity) OR registeredCount < #capacity)"
NO_SEAT_FOR_NEWCOMER = "(waitlistCount > :zero OR registeredCount >= #capacity)"
STATUS_AND_CAPACITY = {"#status": "status", "#capacity": "capacity"}
# Tries of a registration's own transaction while others' cancel it: past them the event is hot,
# and the registration goes to admission (shared/managers/admission.py) instead.
DIRECT_ATTEMPTS = 3


@dataclass(frozen=True)
class EventCounters:
    """The event's state as DynamoDB returned it when a condition failed."""

    status: str
    capacity: int | None
    registeredCount: int
    waitlistCount: int
    waitlistEnabled: bool
    waitlistSeq: int
    generation: str | None = None


def counters(item: dict[str, Any]) -> EventCounters:
    data = deserialize(item)
    return EventCounters(
        status=data["status"],
        capacity=data.get("capacity"),
        registeredCount=data.get("registeredCount", 0),
        waitlistCount=data.get("waitlistCount", 0),
        waitlistEnabled=bool(data.get("waitlistEnabled", False)),
        waitlistSeq=data.get("waitlistSeq", 0),
        generation=data.get("generation"),
    )


def user_exists(users_table: str, user_id: str) -> dict[str, Any]:
    """The ConditionCheck that the user exists."""
    return {
        "ConditionCheck": {
            "TableName": users_table,
            "Key": user_key(user_id),
            "ConditionExpression": "attribute_exists(userId)",
        }
    }


def release(events_table: str, event_id: str, counter: str, owner: str | None, add: str = "") -> dict[str, Any]:
    """The event's side of an unregistration: one less in `counter` (registeredCount or
    waitlistCount), on a live event that, with `owner`, is theirs. `add`: more counters that move
    by one in the same update (`, leftCount :one`)."""
    return {
        "Update": {
            "TableName": events_table,
            "Key": event_key(event_id),
            "UpdateExpression": f"SET {counter} = {counter} - :one {MOVE_COUNTER_VERSION}{add}",
            **event_condition(owner),
        }
    }


def event_condition(owner: str | None) -> dict[str, Any]:
    """The event update of an unregistration: the event is live and, with `owner`, is theirs."""
    if owner is None:
        return {"ConditionExpression": EVENT_LIVE, "ExpressionAttributeValues": {":one": ONE}}
    return {
        "ConditionExpression": f"{EVENT_LIVE} AND {OWNED_BY}",
        "ExpressionAttributeValues": {":one": ONE, ":owner": value(owner)},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def check_owner(exc: DynamoDBError, index: int, event_id: str, owner: str | None) -> None:
    """403 when the event exists but is not `owner`'s — before saying whether the user is
    registered there, which is none of a stranger's business."""
    if owner is None or not exc.failed(index):
        return
    event = exc.old_item(index)
    if is_live(event) and deserialize(event).get("ownerId") != owner:  # type: ignore[arg-type]
        raise not_owner(event_id) from exc


def raise_if_event_gone(exc: DynamoDBError, index: int, event_id: str) -> None:
    """Once an event is being deleted it is 404 to every write, unregistering included."""
    if exc.failed(index):
        raise NotFoundError(f"Event {event_id} not found") from exc


def registration_not_found(event_id: str, user_id: str) -> NotFoundError:
    return NotFoundError(f"User {user_id} is neither registered nor waiting for event {event_id}")


def no_seat_or_raise(exc: DynamoDBError, event_id: str, user_id: str) -> EventCounters:
    """Reads a cancelled register/join transaction: [event, user, registration, …]."""
    if exc.code != "TransactionCanceledException" or len(exc.reasons) < 3:
        raise exc
    event_item = exc.old_item(0)
    if exc.failed(0) and not is_live(event_item):
        raise NotFoundError(f"Event {event_id} not found") from exc
    if exc.failed(1):
        raise NotFoundError(f"User {user_id} not found") from exc
    if exc.failed(2):
        raise already(event_id, user_id, deserialize(exc.old_item(2) or {}).get("status")) from exc
    if not exc.failed(0):
        raise exc
    found = counters(event_item)  # type: ignore[arg-type]
    if found.status not in OPEN_STATUSES:
        raise not_open(event_id, found.status) from exc
    return found


def already(event_id: str, user_id: str, status: str | None) -> ConflictError:
    where = "on the waitlist" if status == WAITLISTED else "registered"
    return ConflictError(f"User {user_id} is already {where} for event {event_id}")


def not_open(event_id: str, status: str | None) -> ConflictError:
    return ConflictError(f"Event {event_id} is not open for registration (status: {status})")
