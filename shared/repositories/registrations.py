"""Registrations table: one item per (event, user) — `confirmed`, or `waitlisted` as the marker of a
waitlist entry (shared/repositories/waitlist.py) — so DynamoDB itself keeps a user at most once
per event. Every write that changes who is confirmed moves the event's counters in the same
transaction (shared/repositories/transactions.py). See docs/data-model.md."""

from __future__ import annotations

from typing import Any

from shared.models.domain import Page, Registration
from shared.repositories import queue, transactions
from shared.repositories.dynamo import Tables, deserialize, pages, query_page, serialize, value
from shared.repositories.failures import DynamoDBError
from shared.repositories.keys import (
    CONFIRMED,
    EVENT_OPEN,
    MOVE_COUNTER_VERSION,
    OPEN_VALUES,
    WAITLISTED,
    event_key,
    registration_key,
)
from shared.repositories.transactions import ONE, SEAT_FREE, STATUS_AND_CAPACITY, ZERO, EventCounters

USER_REGISTRATIONS_INDEX = "UserRegistrationsIndex"
EVENT_REGISTRATIONS_INDEX = "EventRegistrationsIndex"
_INDEX_KEYS = ("eventId", "userId", "registeredAt")
# TransactWriteItems takes 100 actions: the generation check and 99 deletions.
_DELETES_PER_TRANSACTION = 99


class RegistrationRepository(Tables):
    def try_confirm(self, event_id: str, user_id: str, now: str) -> Registration | EventCounters:
        """One transaction: event open with a free seat and nobody waiting, user exists, user not
        yet registered or waiting. Returns the registration, or the event's counters when no seat
        is free for a newcomer."""
        items = [
            {
                "Update": {
                    "TableName": self._events,
                    "Key": event_key(event_id),
                    "UpdateExpression": f"SET registeredCount = registeredCount + :one {MOVE_COUNTER_VERSION}",
                    "ConditionExpression": f"{EVENT_OPEN} AND waitlistCount = :zero AND {SEAT_FREE}",
                    "ExpressionAttributeNames": STATUS_AND_CAPACITY,
                    "ExpressionAttributeValues": {":one": ONE, ":zero": ZERO, **OPEN_VALUES},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            transactions.user_exists(self._users, user_id),
            {
                "Put": {
                    "TableName": self._registrations,
                    "Item": serialize(
                        {"eventId": event_id, "userId": user_id, "status": CONFIRMED, "registeredAt": now}
                    ),
                    "ConditionExpression": "attribute_not_exists(userId)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
        try:
            self._client.transact(items, transactions.DIRECT_ATTEMPTS)
        except DynamoDBError as exc:
            return transactions.no_seat_or_raise(exc, event_id, user_id)
        return Registration(eventId=event_id, userId=user_id, registeredAt=now)

    def remove_confirmed(self, event_id: str, user_id: str, owner: str | None = None) -> tuple[int, str | None] | None:
        """Deletes a confirmed registration and frees its seat. Returns None when done, or the
        ticket and event generation of the user's waitlist entry (its marker holds both) when the
        user is waiting instead. With an `owner`, only from an event of that owner (checked by the
        transaction itself)."""
        items = [
            {
                "Delete": {
                    "TableName": self._registrations,
                    "Key": registration_key(event_id, user_id),
                    "ConditionExpression": "#status = :confirmed",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":confirmed": value(CONFIRMED)},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            transactions.release(self._events, event_id, "registeredCount", owner),
        ]
        try:
            self._client.transact(items)
        except DynamoDBError as exc:
            transactions.check_owner(exc, 1, event_id, owner)
            transactions.raise_if_event_gone(exc, 1, event_id)
            if not exc.failed(0):
                raise
            registration = exc.old_item(0)
            if registration is None:
                raise transactions.registration_not_found(event_id, user_id) from exc
            data = deserialize(registration)
            if data.get("status") == WAITLISTED:
                return int(data["ticket"]), data.get("generation")
            raise
        return None

    def delete_all_for_event(self, event_id: str, generation: str) -> int:
        """Removes every registration, waitlist entry and tree node (shared/repositories/queue.py)
        of one generation of an event (marked as deleting, so that nothing new arrives). Each batch
        is one transaction that also checks that the event item is still that generation being
        deleted: once an overlapping deletion has finished it (and the id may hold a re-created
        event), nothing more is removed. Returns how many items went."""
        still_deleting = {
            "ConditionCheck": {
                "TableName": self._events,
                "Key": event_key(event_id),
                "ConditionExpression": "generation = :generation AND attribute_exists(deleting)",
                "ExpressionAttributeValues": {":generation": value(generation)},
            }
        }
        removed = 0
        partitions = (
            (self._waitlist, event_id, "position"),
            (self._registrations, event_id, "userId"),
            (self._waitlist, queue.tree_partition(event_id, generation), "position"),
        )
        for table, partition, sort_key in partitions:
            for response in pages(
                self._client,
                "query",
                TableName=table,
                KeyConditionExpression="eventId = :event",
                ExpressionAttributeValues={":event": value(partition)},
                ProjectionExpression="eventId, #sk",
                ExpressionAttributeNames={"#sk": sort_key},
                ConsistentRead=True,
            ):
                keys = response.get("Items", [])
                for start in range(0, len(keys), _DELETES_PER_TRANSACTION):
                    deletes = [
                        {"Delete": {"TableName": table, "Key": key}}
                        for key in keys[start : start + _DELETES_PER_TRANSACTION]
                    ]
                    try:
                        self._client.transact([still_deleting, *deletes])
                    except DynamoDBError as exc:
                        if exc.failed(0):
                            return removed
                        raise
                    removed += len(deletes)
        return removed

    def event_registrations(self, event_id: str, limit: int, cursor: dict[str, Any] | None) -> Page[Registration]:
        """Confirmed registrations of an event, oldest first (the sparse EventRegistrationsIndex
        holds only confirmed items, which alone carry registeredAt)."""
        return self._page(EVENT_REGISTRATIONS_INDEX, "eventId = :event", {":event": value(event_id)}, limit, cursor)

    def user_registrations(self, user_id: str, limit: int, cursor: dict[str, Any] | None) -> Page[Registration]:
        return self._page(USER_REGISTRATIONS_INDEX, "userId = :user", {":user": value(user_id)}, limit, cursor)

    def _page(
        self, index: str, condition: str, values: dict[str, Any], limit: int, cursor: dict[str, Any] | None
    ) -> Page[Registration]:
        params = {
            "TableName": self._registrations,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        items, next_cursor = query_page(self._client, "query", params, limit, cursor, _INDEX_KEYS)
        return Page([_registration(item) for item in items], next_cursor)


def _registration(item: dict[str, Any]) -> Registration:
    data = deserialize(item)
    return Registration(eventId=data["eventId"], userId=data["userId"], registeredAt=data["registeredAt"])
