"""Deleting a small event at once: its registrations, waitlist entries and the event item in one
transaction, so that the id is free again the moment DELETE answers (a client may create the
same event again at once). A larger event is marked `deleting` instead and emptied in the
background (shared/repositories/registrations.py, delete_all_for_event). See docs/data-model.md."""

from __future__ import annotations

from typing import Any

from shared.auth import not_owner
from shared.errors import NotFoundError
from shared.repositories.dynamo import Tables, deserialize, value
from shared.repositories.failures import DynamoDBError
from shared.repositories.keys import (
    CONFIRMED,
    EVENT_LIVE,
    OWNED_BY,
    WAITLISTED,
    event_key,
    is_live,
    registration_key,
    waitlist_key,
)

# Rows of Registrations (confirmed, or waitlisted with their Waitlist entry) one transaction can
# remove beside the event item: 1 + 2 x 49 = 99 of TransactWriteItems' 100 actions.
AT_ONCE_ROWS = 49


class EventDeletionRepository(Tables):
    def try_delete_at_once(self, event_id: str, owner: str | None = None) -> bool:
        """Two round trips: one consistent Query of the event's Registrations rows, then, when
        they fit, one transaction deleting the event, every row and every waitlist entry. The
        event's delete requires its counters to equal the rows found, and every child delete
        requires its item to exist: counters move in the same transaction as the items they
        count, so the rows deleted are all of the event's, whatever committed since the read.
        Returns False when the event is too large, changed meanwhile or has a tree of waitlist
        leavers (shared/repositories/queue.py): the caller marks it deleting instead. 404 when it
        is gone or already being deleted; 403 when, with an `owner`, it is someone else's.
        Nothing changes unless everything goes."""
        response = self._client.query(
            TableName=self._registrations,
            KeyConditionExpression="eventId = :event",
            ExpressionAttributeValues={":event": value(event_id)},
            ProjectionExpression="userId, #status, ticket",
            ExpressionAttributeNames={"#status": "status"},
            ConsistentRead=True,
            Limit=AT_ONCE_ROWS + 1,
        )
        rows = [deserialize(item) for item in response.get("Items", [])]
        if "LastEvaluatedKey" in response or len(rows) > AT_ONCE_ROWS:
            return False
        confirmed = [row for row in rows if row.get("status") == CONFIRMED]
        waiting = [row for row in rows if row.get("status") == WAITLISTED and "ticket" in row]
        if len(confirmed) + len(waiting) != len(rows):
            return False  # a row this code never writes: leave it to the background's plain deletes
        items = [self._delete_event(event_id, len(confirmed), len(waiting), owner)]
        items += [self._delete_existing(self._registrations, registration_key(event_id, row["userId"])) for row in rows]
        items += [self._delete_existing(self._waitlist, waitlist_key(event_id, int(row["ticket"]))) for row in waiting]
        try:
            self._client.transact(items)
        except DynamoDBError as exc:
            if not any(exc.failed(index) for index in range(len(items))):
                raise
            if exc.failed(0):
                event = exc.old_item(0)
                if not is_live(event):
                    raise NotFoundError(f"Event {event_id} not found") from exc
                if owner is not None and deserialize(event).get("ownerId") != owner:  # type: ignore[arg-type]
                    raise not_owner(event_id) from exc
            # Someone joined, left or was promoted between the read and the write.
            return False
        return True

    def _delete_event(self, event_id: str, registered: int, waiting: int, owner: str | None) -> dict[str, Any]:
        # Nobody ever left its waitlist: no tree of leavers to remove (else the background does).
        condition = (
            f"{EVENT_LIVE} AND registeredCount = :registered AND waitlistCount = :waiting "
            "AND (attribute_not_exists(leftCount) OR leftCount = :zero)"
        )
        values = {":registered": value(registered), ":waiting": value(waiting), ":zero": value(0)}
        if owner is not None:
            condition += f" AND {OWNED_BY}"
            values[":owner"] = value(owner)
        return {
            "Delete": {
                "TableName": self._events,
                "Key": event_key(event_id),
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    @staticmethod
    def _delete_existing(table: str, key: dict[str, Any]) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": table,
                "Key": key,
                "ConditionExpression": "attribute_exists(eventId)",
            }
        }
