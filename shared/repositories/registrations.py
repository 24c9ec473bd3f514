"""Registrations and the waitlist.

One Registrations item per (event, user) — `confirmed`, or `waitlisted` as the marker of a waitlist
entry — so DynamoDB itself keeps a user at most once per event. Every write that changes who is
confirmed or waiting moves the event's counters in the same transaction. See docs/data-model.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shared.auth import not_owner
from shared.config import get_settings
from shared.errors import ConflictError, NotFoundError
from shared.models.domain import Event, Page, Registration, WaitlistEntry
from shared.models.fields import OPEN_STATUSES
from shared.repositories.dynamo import Dynamo, batch_get, deserialize, pages, query_page, serialize, value
from shared.repositories.events import event_from_item, is_live
from shared.repositories.failures import DynamoDBError

USER_REGISTRATIONS_INDEX = "UserRegistrationsIndex"
EVENT_REGISTRATIONS_INDEX = "EventRegistrationsIndex"
USER_WAITLIST_INDEX = "UserWaitlistIndex"
CONFIRMED = "confirmed"
WAITLISTED = "waitlisted"

_REGISTRATION_INDEX_KEYS = ("eventId", "userId", "registeredAt")
# TransactWriteItems takes 100 actions: the generation check and 99 deletions.
_DELETES_PER_TRANSACTION = 99
_ONE = value(1)
_ZERO = value(0)
_EVENT_LIVE = "attribute_exists(eventId) AND attribute_not_exists(deleting)"
_EVENT_OPEN = f"{_EVENT_LIVE} AND #status IN (:scheduled, :active)"
_SEAT_FREE = "(attribute_not_exists(#capacity) OR registeredCount < #capacity)"
_NO_SEAT_FOR_NEWCOMER = "(waitlistCount > :zero OR registeredCount >= #capacity)"
_OPEN_VALUES = {":scheduled": value(OPEN_STATUSES[0]), ":active": value(OPEN_STATUSES[1])}
_NAMES = {"#status": "status", "#capacity": "capacity"}


@dataclass(frozen=True)
class EventCounters:
    """The event's state as DynamoDB returned it when a condition failed."""

    status: str
    capacity: int | None
    registeredCount: int
    waitlistCount: int
    waitlistEnabled: bool
    waitlistSeq: int


def _failed(reason: dict[str, Any]) -> bool:
    return reason.get("Code") == "ConditionalCheckFailed"


def _counters(item: dict[str, Any]) -> EventCounters:
    data = deserialize(item)
    return EventCounters(
        status=data["status"],
        capacity=data.get("capacity"),
        registeredCount=data.get("registeredCount", 0),
        waitlistCount=data.get("waitlistCount", 0),
        waitlistEnabled=bool(data.get("waitlistEnabled", False)),
        waitlistSeq=data.get("waitlistSeq", 0),
    )


class RegistrationRepository:
    def __init__(self, client: Any = None) -> None:
        settings = get_settings()
        self._client = Dynamo(client)
        self._events = settings.events_table
        self._users = settings.users_table
        self._registrations = settings.registrations_table
        self._waitlist = settings.waitlist_table

    # -- writes -------------------------------------------------------------------------------

    def try_confirm(self, event_id: str, user_id: str, now: str) -> Registration | EventCounters:
        """One transaction: event open with a free seat and nobody waiting, user exists, user not
        yet registered or waiting. Returns the registration, or the event's counters when no seat
        is free for a newcomer."""
        items = [
            {
                "Update": {
                    "TableName": self._events,
                    "Key": {"eventId": value(event_id)},
                    "UpdateExpression": "SET registeredCount = registeredCount + :one",
                    "ConditionExpression": f"{_EVENT_OPEN} AND waitlistCount = :zero AND {_SEAT_FREE}",
                    "ExpressionAttributeNames": _NAMES,
                    "ExpressionAttributeValues": {":one": _ONE, ":zero": _ZERO, **_OPEN_VALUES},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            self._user_exists(user_id),
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
            self._transact(items)
        except DynamoDBError as exc:
            return self._no_seat_or_raise(exc, event_id, user_id)
        return Registration(eventId=event_id, userId=user_id, registeredAt=now)

    def try_join_waitlist(self, event_id: str, user_id: str, seen_seq: int, now: str) -> WaitlistEntry | EventCounters:
        """One transaction: joins with a ticket above every ticket committed so far — so the queue
        order is the commit order — while the event is open, full (or has people waiting) and has
        its waitlist on. Returns the entry, or the event's fresh counters for the caller to decide
        again (someone else joined first, a seat came free, the waitlist was switched off, …).

        The ticket is the current time in microseconds, or one more than the last ticket if that is
        larger: concurrent joiners then hold distinct, increasing tickets and rarely collide, where
        a plain "last + 1" would make every concurrent joiner but one fail and retry. Clocks only
        affect how often a join retries, never the order: the condition alone guards it."""
        ticket = max(seen_seq + 1, time.time_ns() // 1000)
        items = [
            {
                "Update": {
                    "TableName": self._events,
                    "Key": {"eventId": value(event_id)},
                    "UpdateExpression": "SET waitlistSeq = :ticket, waitlistCount = waitlistCount + :one",
                    "ConditionExpression": (
                        f"{_EVENT_OPEN} AND waitlistEnabled = :true AND waitlistSeq < :ticket "
                        f"AND {_NO_SEAT_FOR_NEWCOMER}"
                    ),
                    "ExpressionAttributeNames": _NAMES,
                    "ExpressionAttributeValues": {
                        ":one": _ONE,
                        ":zero": _ZERO,
                        ":true": value(True),
                        ":ticket": value(ticket),
                        **_OPEN_VALUES,
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            self._user_exists(user_id),
            {
                "Put": {
                    "TableName": self._registrations,
                    "Item": serialize(
                        {"eventId": event_id, "userId": user_id, "status": WAITLISTED, "ticket": ticket, "addedAt": now}
                    ),
                    "ConditionExpression": "attribute_not_exists(userId)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self._waitlist,
                    "Item": serialize({"eventId": event_id, "position": ticket, "userId": user_id, "addedAt": now}),
                    "ConditionExpression": "attribute_not_exists(#position)",
                    "ExpressionAttributeNames": {"#position": "position"},
                }
            },
        ]
        try:
            self._transact(items)
        except DynamoDBError as exc:
            return self._no_seat_or_raise(exc, event_id, user_id)
        return WaitlistEntry(eventId=event_id, userId=user_id, ticket=ticket, addedAt=now)

    def remove_confirmed(self, event_id: str, user_id: str, owner: str | None = None) -> int | None:
        """Deletes a confirmed registration and frees its seat. Returns None when done, or the
        ticket of the user's waitlist entry when the user is waiting instead. With an `owner`, only
        from an event of that owner (checked by the transaction itself)."""
        items = [
            {
                "Delete": {
                    "TableName": self._registrations,
                    "Key": self._registration_key(event_id, user_id),
                    "ConditionExpression": "#status = :confirmed",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":confirmed": value(CONFIRMED)},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Update": {
                    "TableName": self._events,
                    "Key": {"eventId": value(event_id)},
                    "UpdateExpression": "SET registeredCount = registeredCount - :one",
                    **self._event_condition(owner),
                }
            },
        ]
        try:
            self._transact(items)
        except DynamoDBError as exc:
            self._check_owner(exc, 1, event_id, owner)
            self._raise_if_event_gone(exc, 1, event_id)
            registration = self._failed_item(exc, 0)
            if registration is None:
                raise self._registration_not_found(event_id, user_id) from exc
            data = deserialize(registration)
            if data.get("status") == WAITLISTED:
                return int(data["ticket"])
            raise
        return None

    def remove_waitlisted(self, event_id: str, user_id: str, ticket: int, owner: str | None = None) -> bool:
        """Deletes a waitlist entry and its marker. False when the user is no longer waiting on
        that ticket (promoted meanwhile): the caller starts over. `owner` as in remove_confirmed."""
        items = [
            {
                "Delete": {
                    "TableName": self._registrations,
                    "Key": self._registration_key(event_id, user_id),
                    "ConditionExpression": "#status = :waitlisted AND ticket = :ticket",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":waitlisted": value(WAITLISTED), ":ticket": value(ticket)},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Delete": {
                    "TableName": self._waitlist,
                    "Key": self._waitlist_key(event_id, ticket),
                    "ConditionExpression": "attribute_exists(#position)",
                    "ExpressionAttributeNames": {"#position": "position"},
                }
            },
            {
                "Update": {
                    "TableName": self._events,
                    "Key": {"eventId": value(event_id)},
                    "UpdateExpression": "SET waitlistCount = waitlistCount - :one",
                    **self._event_condition(owner),
                }
            },
        ]
        try:
            self._transact(items)
        except DynamoDBError as exc:
            self._check_owner(exc, 2, event_id, owner)
            self._raise_if_event_gone(exc, 2, event_id)
            reasons = exc.reasons
            if reasons and _failed(reasons[0]):
                if reasons[0].get("Item") is None:
                    raise self._registration_not_found(event_id, user_id) from exc
                return False
            if len(reasons) > 1 and _failed(reasons[1]):
                # The entry went without its marker: only an event deletion removes them apart.
                raise NotFoundError(f"Event {event_id} not found") from exc
            raise
        return True

    def head_of_waitlist(self, event_id: str) -> WaitlistEntry | None:
        response = self._client.query(
            TableName=self._waitlist,
            KeyConditionExpression="eventId = :event",
            ExpressionAttributeValues={":event": value(event_id)},
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return _waitlist_entry(items[0], position=1) if items else None

    def try_promote(self, entry: WaitlistEntry, now: str) -> bool | None:
        """One transaction: a free seat goes to this entry, which leaves the waitlist. True when
        promoted; None when no seat is free (or the event is gone); False when the entry was no
        longer there (it left, or another run promoted it)."""
        items = [
            {
                "Update": {
                    "TableName": self._events,
                    "Key": {"eventId": value(entry.eventId)},
                    "UpdateExpression": (
                        "SET registeredCount = registeredCount + :one, waitlistCount = waitlistCount - :one"
                    ),
                    "ConditionExpression": f"{_EVENT_LIVE} AND {_SEAT_FREE}",
                    "ExpressionAttributeNames": {"#capacity": "capacity"},
                    "ExpressionAttributeValues": {":one": _ONE},
                }
            },
            {
                "Delete": {
                    "TableName": self._waitlist,
                    "Key": self._waitlist_key(entry.eventId, entry.ticket),
                    "ConditionExpression": "attribute_exists(#position)",
                    "ExpressionAttributeNames": {"#position": "position"},
                }
            },
            {
                "Update": {
                    "TableName": self._registrations,
                    "Key": self._registration_key(entry.eventId, entry.userId),
                    "UpdateExpression": "SET #status = :confirmed, registeredAt = :now REMOVE ticket, addedAt",
                    "ConditionExpression": "#status = :waitlisted AND ticket = :ticket",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":confirmed": value(CONFIRMED),
                        ":waitlisted": value(WAITLISTED),
                        ":ticket": value(entry.ticket),
                        ":now": value(now),
                    },
                }
            },
        ]
        try:
            self._transact(items)
        except DynamoDBError as exc:
            reasons = exc.reasons
            if not reasons:
                raise
            if _failed(reasons[0]):
                return None
            if any(_failed(reason) for reason in reasons[1:]):
                return False
            raise
        return True

    def delete_all_for_event(self, event_id: str, generation: str) -> int:
        """Removes every registration and waitlist entry of one generation of an event (marked as
        deleting, so that nothing new arrives). Each batch is one transaction that also checks that
        the event item is still that generation being deleted: once an overlapping deletion has
        finished it (and the id may hold a re-created event), nothing more is removed. Returns how
        many items went."""
        still_deleting = {
            "ConditionCheck": {
                "TableName": self._events,
                "Key": {"eventId": value(event_id)},
                "ConditionExpression": "generation = :generation AND attribute_exists(deleting)",
                "ExpressionAttributeValues": {":generation": value(generation)},
            }
        }
        removed = 0
        for table, sort_key in ((self._waitlist, "position"), (self._registrations, "userId")):
            for response in pages(
                self._client,
                "query",
                TableName=table,
                KeyConditionExpression="eventId = :event",
                ExpressionAttributeValues={":event": value(event_id)},
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
                        self._transact([still_deleting, *deletes])
                    except DynamoDBError as exc:
                        if exc.code == "TransactionCanceledException" and exc.reasons and _failed(exc.reasons[0]):
                            return removed
                        raise
                    removed += len(deletes)
        return removed

    # -- reads --------------------------------------------------------------------------------

    def event_registrations(self, event_id: str, limit: int, cursor: dict[str, Any] | None) -> Page:
        """Confirmed registrations of an event, oldest first (the sparse EventRegistrationsIndex
        holds only confirmed items, which alone carry registeredAt)."""
        items, next_cursor = self._query(
            _REGISTRATION_INDEX_KEYS,
            limit,
            cursor,
            IndexName=EVENT_REGISTRATIONS_INDEX,
            KeyConditionExpression="eventId = :event",
            ExpressionAttributeValues={":event": value(event_id)},
        )
        return Page([_registration(item) for item in items], next_cursor)

    def event_waitlist(self, event_id: str, limit: int, cursor: dict[str, Any] | None) -> Page:
        """Waitlist entries in ticket order, with live positions: the first page starts at 1; a
        later page starts after the entries still ahead of its first ticket (one COUNT query)."""
        items, next_cursor = self._query(
            ("eventId", "position"),
            limit,
            cursor,
            TableName=self._waitlist,
            KeyConditionExpression="eventId = :event",
            ExpressionAttributeValues={":event": value(event_id)},
            ConsistentRead=True,
        )
        first = 1
        if cursor and items:
            first = self.live_position(event_id, int(items[0]["position"]["N"]))
        entries = [_waitlist_entry(item, position=first + offset) for offset, item in enumerate(items)]
        return Page(entries, next_cursor)

    def live_position(self, event_id: str, ticket: int) -> int:
        """1 + the number of entries still ahead of this ticket."""
        response = self._client.query(
            TableName=self._waitlist,
            KeyConditionExpression="eventId = :event AND #position <= :ticket",
            ExpressionAttributeNames={"#position": "position"},
            ExpressionAttributeValues={":event": value(event_id), ":ticket": value(ticket)},
            Select="COUNT",
            ConsistentRead=True,
        )
        return int(response["Count"]) if response["Count"] else 1

    def user_registrations(self, user_id: str, limit: int, cursor: dict[str, Any] | None) -> Page:
        items, next_cursor = self._query(
            _REGISTRATION_INDEX_KEYS,
            limit,
            cursor,
            IndexName=USER_REGISTRATIONS_INDEX,
            KeyConditionExpression="userId = :user",
            ExpressionAttributeValues={":user": value(user_id)},
        )
        return Page([_registration(item) for item in items], next_cursor)

    def user_waitlist(self, user_id: str, limit: int, cursor: dict[str, Any] | None) -> Page:
        items, next_cursor = self._query(
            ("eventId", "position", "userId", "addedAt"),
            limit,
            cursor,
            TableName=self._waitlist,
            IndexName=USER_WAITLIST_INDEX,
            KeyConditionExpression="userId = :user",
            ExpressionAttributeValues={":user": value(user_id)},
        )
        return Page([_waitlist_entry(item) for item in items], next_cursor)

    def names(self, user_ids: list[str], also_event: str | None = None) -> tuple[dict[str, str], dict[str, Any] | None]:
        """Users' names in one BatchGetItem and, in the same call, an event's id and owner
        (`also_event`; None when it is not live)."""
        keys_by_table: dict[str, list[dict[str, Any]]] = {self._users: [{"userId": value(u)} for u in user_ids]}
        if also_event is not None:
            keys_by_table[self._events] = [{"eventId": value(also_event)}]
        found = batch_get(
            self._client, keys_by_table, {self._users: "userId, #name", self._events: "eventId, deleting, ownerId"}
        )
        names = {user["userId"]["S"]: user["name"]["S"] for user in found[self._users]}
        live = [deserialize(event) for event in found.get(self._events, []) if is_live(event)]
        return names, (live[0] if live else None)

    def events_by_id(self, event_ids: list[str]) -> dict[str, Event]:
        if not event_ids:
            return {}
        found = batch_get(self._client, {self._events: [{"eventId": value(e)} for e in event_ids]}, {})
        return {item["eventId"]["S"]: event_from_item(item) for item in found[self._events] if is_live(item)}

    def user_exists(self, user_id: str) -> bool:
        return "Item" in self._client.get_item(
            TableName=self._users, Key={"userId": value(user_id)}, ProjectionExpression="userId"
        )

    # -- helpers ------------------------------------------------------------------------------

    def _transact(self, items: list[dict[str, Any]]) -> None:
        self._client.transact(items)

    def _query(
        self, key_names: tuple[str, ...], limit: int, cursor: dict[str, Any] | None, **params: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        params.setdefault("TableName", self._registrations)
        return query_page(self._client, "query", params, limit, cursor, key_names)

    def _user_exists(self, user_id: str) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._users,
                "Key": {"userId": value(user_id)},
                "ConditionExpression": "attribute_exists(userId)",
            }
        }

    def _registration_key(self, event_id: str, user_id: str) -> dict[str, Any]:
        return {"eventId": value(event_id), "userId": value(user_id)}

    def _waitlist_key(self, event_id: str, ticket: int) -> dict[str, Any]:
        return {"eventId": value(event_id), "position": value(ticket)}

    @staticmethod
    def _event_condition(owner: str | None) -> dict[str, Any]:
        """The event update of an unregistration: the event is live and, with `owner`, is theirs."""
        if owner is None:
            return {"ConditionExpression": _EVENT_LIVE, "ExpressionAttributeValues": {":one": _ONE}}
        return {
            "ConditionExpression": f"{_EVENT_LIVE} AND ownerId = :owner",
            "ExpressionAttributeValues": {":one": _ONE, ":owner": value(owner)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    @staticmethod
    def _check_owner(exc: DynamoDBError, index: int, event_id: str, owner: str | None) -> None:
        """403 when the event exists but is not `owner`'s — before saying whether the user is
        registered there, which is none of a stranger's business."""
        reasons = exc.reasons
        if owner is None or len(reasons) <= index or not _failed(reasons[index]):
            return
        event = reasons[index].get("Item")
        if is_live(event) and deserialize(event).get("ownerId") != owner:  # type: ignore[arg-type]
            raise not_owner(event_id) from exc

    @staticmethod
    def _failed_item(exc: DynamoDBError, index: int) -> dict[str, Any] | None:
        reasons = exc.reasons
        if exc.code != "TransactionCanceledException" or len(reasons) <= index or not _failed(reasons[index]):
            raise exc
        return reasons[index].get("Item")

    @staticmethod
    def _raise_if_event_gone(exc: DynamoDBError, index: int, event_id: str) -> None:
        """Once an event is being deleted it is 404 to every write, unregistering included."""
        reasons = exc.reasons
        if exc.code == "TransactionCanceledException" and len(reasons) > index and _failed(reasons[index]):
            raise NotFoundError(f"Event {event_id} not found") from exc

    @staticmethod
    def _registration_not_found(event_id: str, user_id: str) -> NotFoundError:
        return NotFoundError(f"User {user_id} is neither registered nor waiting for event {event_id}")

    def _no_seat_or_raise(self, exc: DynamoDBError, event_id: str, user_id: str) -> EventCounters:
        """Reads a cancelled register/join transaction: [event, user, registration, …]."""
        reasons = exc.reasons
        if exc.code != "TransactionCanceledException" or len(reasons) < 3:
            raise exc
        event_reason, user_reason, registration_reason = reasons[0], reasons[1], reasons[2]
        event_item = event_reason.get("Item")
        if _failed(event_reason) and not is_live(event_item):
            raise NotFoundError(f"Event {event_id} not found") from exc
        if _failed(user_reason):
            raise NotFoundError(f"User {user_id} not found") from exc
        if _failed(registration_reason):
            existing = deserialize(registration_reason.get("Item") or {}).get("status")
            where = "on the waitlist" if existing == WAITLISTED else "registered"
            raise ConflictError(f"User {user_id} is already {where} for event {event_id}") from exc
        if not _failed(event_reason):
            raise exc
        counters = _counters(event_item)  # type: ignore[arg-type]
        if counters.status not in OPEN_STATUSES:
            raise ConflictError(f"Event {event_id} is not open for registration (status: {counters.status})") from exc
        return counters


def _registration(item: dict[str, Any]) -> Registration:
    data = deserialize(item)
    return Registration(eventId=data["eventId"], userId=data["userId"], registeredAt=data["registeredAt"])


def _waitlist_entry(item: dict[str, Any], position: int = 0) -> WaitlistEntry:
    data = deserialize(item)
    return WaitlistEntry(
        eventId=data["eventId"],
        userId=data["userId"],
        ticket=data["position"],
        addedAt=data["addedAt"],
        position=position,
    )
