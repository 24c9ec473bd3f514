"""Keys of the four tables and the conditions on an event item that writes to several tables share
(a live event: it exists and is not being deleted). See docs/data-model.md."""

from __future__ import annotations

from typing import Any

from shared.models.fields import OPEN_STATUSES
from shared.repositories.dynamo import value

CONFIRMED = "confirmed"
WAITLISTED = "waitlisted"

NOT_DELETING = "attribute_not_exists(deleting)"
EVENT_LIVE = f"attribute_exists(eventId) AND {NOT_DELETING}"
EVENT_OPEN = f"{EVENT_LIVE} AND #status IN (:scheduled, :active)"
OPEN_VALUES = {":scheduled": value(OPEN_STATUSES[0]), ":active": value(OPEN_STATUSES[1])}
OWNED_BY = "ownerId = :owner"
# Every write that moves an event's counters moves its counter version too (in the same update, so
# in the same transaction as the items counted): the reconciliation repairs counters only at the
# version it counted at, so churn that brings the counters back to the same values (ABA) never
# passes for drift. `:one` is in every such update's values.
COUNTER_VERSION = "counterVersion"
MOVE_COUNTER_VERSION = f"ADD {COUNTER_VERSION} :one"


def is_live(item: dict[str, Any] | None) -> bool:
    """An event item that exists and is not being deleted."""
    return bool(item) and "deleting" not in item  # type: ignore[operator]


def event_key(event_id: str) -> dict[str, Any]:
    return {"eventId": value(event_id)}


def user_key(user_id: str) -> dict[str, Any]:
    return {"userId": value(user_id)}


def registration_key(event_id: str, user_id: str) -> dict[str, Any]:
    return {"eventId": value(event_id), "userId": value(user_id)}


def waitlist_key(event_id: str, ticket: int) -> dict[str, Any]:
    return {"eventId": value(event_id), "position": value(ticket)}
