"""Waitlist table: one entry per waiting user, keyed by the event and a ticket (`position`) that
orders the queue. Each entry has its `waitlisted` marker in Registrations, written, removed and
turned into a confirmed registration in the same transaction as the entry and the event's
counters. Positions are live: 1 + the entries still ahead. See docs/data-model.md."""

from __future__ import annotations

import time
from typing import Any

from shared.errors import NotFoundError
from shared.models.domain import Page, WaitlistEntry
from shared.repositories import keys, transactions
from shared.repositories.dynamo import Tables, deserialize, pages, query_page, serialize, value
from shared.repositories.failures import DynamoDBError
from shared.repositories.keys import CONFIRMED, WAITLISTED, event_key, registration_key, waitlist_key
from shared.repositories.transactions import ONE, EventCounters

USER_WAITLIST_INDEX = "UserWaitlistIndex"
_MARKER_HOLDS_TICKET = "#status = :waitlisted AND ticket = :ticket"


class WaitlistRepository(Tables):
    def try_join(self, event_id: str, user_id: str, seen_seq: int, now: str) -> WaitlistEntry | EventCounters:
        """One transaction: joins with a ticket above every ticket committed so far — so the queue
        order is the commit order — while the event is open, full (or has people waiting) and has
        its waitlist on. Returns the entry, or the event's fresh counters for the caller to decide
        again (someone else joined first, a seat came free, the waitlist was switched off, …).

        The ticket is the current time in microseconds, or one more than the last ticket if that is
        larger: concurrent joiners then hold distinct, increasing tickets and rarely collide, where
        a plain "last + 1" would make every concurrent joiner but one fail and retry. Clocks only
        affect how often a join retries, never the order: the condition alone guards it."""
        ticket = max(seen_seq + 1, time.time_ns() // 1000)
        marker = {"eventId": event_id, "userId": user_id, "status": WAITLISTED, "ticket": ticket, "addedAt": now}
        items = [
            {
                "Update": {
                    "TableName": self._events,
                    "Key": event_key(event_id),
                    "UpdateExpression": (
                        f"SET waitlistSeq = :ticket, waitlistCount = waitlistCount + :one {keys.MOVE_COUNTER_VERSION}"
                    ),
                    "ConditionExpression": (
                        f"{keys.EVENT_OPEN} AND waitlistEnabled = :true AND waitlistSeq < :ticket "
                        f"AND {transactions.NO_SEAT_FOR_NEWCOMER}"
                    ),
                    "ExpressionAttributeNames": transactions.STATUS_AND_CAPACITY,
                    "ExpressionAttributeValues": {
                        ":one": ONE,
                        ":zero": transactions.ZERO,
                        ":true": value(True),
                        ":ticket": value(ticket),
                        **keys.OPEN_VALUES,
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            transactions.user_exists(self._users, user_id),
            {
                "Put": {
                    "TableName": self._registrations,
                    "Item": serialize(marker),
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
            self._client.transact(items)
        except DynamoDBError as exc:
            return transactions.no_seat_or_raise(exc, event_id, user_id)
        return WaitlistEntry(eventId=event_id, userId=user_id, ticket=ticket, addedAt=now)

    def remove(self, event_id: str, user_id: str, ticket: int, owner: str | None = None) -> bool:
        """Deletes a waitlist entry and its marker. False when the user is no longer waiting on
        that ticket (promoted meanwhile): the caller starts over. With an `owner`, only from an
        event of that owner (checked by the transaction itself)."""
        items = [
            {
                "Delete": {
                    "TableName": self._registrations,
                    "Key": registration_key(event_id, user_id),
                    "ConditionExpression": _MARKER_HOLDS_TICKET,
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":waitlisted": value(WAITLISTED), ":ticket": value(ticket)},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            self._delete_entry(event_id, ticket),
            transactions.release(self._events, event_id, "waitlistCount", owner),
        ]
        try:
            self._client.transact(items)
        except DynamoDBError as exc:
            transactions.check_owner(exc, 2, event_id, owner)
            transactions.raise_if_event_gone(exc, 2, event_id)
            if exc.failed(0):
                if exc.old_item(0) is None:
                    raise transactions.registration_not_found(event_id, user_id) from exc
                return False
            if exc.failed(1):
                # The entry went without its marker: only an event deletion removes them apart.
                raise NotFoundError(f"Event {event_id} not found") from exc
            raise
        return True

    def head(self, event_id: str, count: int = 1) -> list[WaitlistEntry]:
        """The first `count` entries in line (fewer when fewer wait), positions 1..count."""
        response = self._client.query(
            TableName=self._waitlist,
            KeyConditionExpression="eventId = :event",
            ExpressionAttributeValues={":event": value(event_id)},
            Limit=count,
            ConsistentRead=True,
        )
        return [_entry(item, position=n) for n, item in enumerate(response.get("Items", []), start=1)]

    def try_promote(self, entry: WaitlistEntry, now: str) -> bool | None:
        """One transaction: a free seat goes to this entry, which leaves the waitlist. True when
        promoted; None when no seat is free (or the event is gone); False when the entry was no
        longer there (it left, or another run promoted it)."""
        items = [
            {
                "Update": {
                    "TableName": self._events,
                    "Key": event_key(entry.eventId),
                    "UpdateExpression": (
                        "SET registeredCount = registeredCount + :one, waitlistCount = waitlistCount - :one "
                        + keys.MOVE_COUNTER_VERSION
                    ),
                    "ConditionExpression": f"{keys.EVENT_LIVE} AND {transactions.SEAT_FREE}",
                    "ExpressionAttributeNames": {"#capacity": "capacity"},
                    "ExpressionAttributeValues": {":one": ONE},
                }
            },
            self._delete_entry(entry.eventId, entry.ticket),
            {
                "Update": {
                    "TableName": self._registrations,
                    "Key": registration_key(entry.eventId, entry.userId),
                    "UpdateExpression": "SET #status = :confirmed, registeredAt = :now REMOVE ticket, addedAt",
                    "ConditionExpression": _MARKER_HOLDS_TICKET,
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
            self._client.transact(items)
        except DynamoDBError as exc:
            if exc.failed(0):
                return None
            if any(exc.failed(index) for index in range(1, len(exc.reasons))):
                return False
            raise
        return True

    def event_waitlist(self, event_id: str, limit: int, cursor: dict[str, Any] | None) -> Page[WaitlistEntry]:
        """Waitlist entries in ticket order, with live positions: the first page starts at 1; a
        later page starts after the entries still ahead of its first ticket (one COUNT query)."""
        params = {
            "TableName": self._waitlist,
            "KeyConditionExpression": "eventId = :event",
            "ExpressionAttributeValues": {":event": value(event_id)},
            "ConsistentRead": True,
        }
        items, next_cursor = query_page(self._client, "query", params, limit, cursor, ("eventId", "position"))
        first = 1
        if cursor and items:
            first = self.live_position(event_id, int(items[0]["position"]["N"]))
        return Page([_entry(item, position=first + offset) for offset, item in enumerate(items)], next_cursor)

    def live_position(self, event_id: str, ticket: int) -> int:
        """1 + the number of entries still ahead of this ticket: a COUNT query paged to the end
        (DynamoDB stops each page after 1 MB read, about 8,000 entries here)."""
        count = sum(
            int(page["Count"])
            for page in pages(
                self._client,
                "query",
                TableName=self._waitlist,
                KeyConditionExpression="eventId = :event AND #position <= :ticket",
                ExpressionAttributeNames={"#position": "position"},
                ExpressionAttributeValues={":event": value(event_id), ":ticket": value(ticket)},
                Select="COUNT",
                ConsistentRead=True,
            )
        )
        return count or 1

    def user_waitlist(self, user_id: str, limit: int, cursor: dict[str, Any] | None) -> Page[WaitlistEntry]:
        params = {
            "TableName": self._waitlist,
            "IndexName": USER_WAITLIST_INDEX,
            "KeyConditionExpression": "userId = :user",
            "ExpressionAttributeValues": {":user": value(user_id)},
        }
        keys = ("eventId", "position", "userId", "addedAt")
        items, next_cursor = query_page(self._client, "query", params, limit, cursor, keys)
        return Page([_entry(item) for item in items], next_cursor)

    def _delete_entry(self, event_id: str, ticket: int) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._waitlist,
                "Key": waitlist_key(event_id, ticket),
                "ConditionExpression": "attribute_exists(#position)",
                "ExpressionAttributeNames": {"#position": "position"},
            }
        }


def _entry(item: dict[str, Any], position: int = 0) -> WaitlistEntry:
    data = deserialize(item)
    return WaitlistEntry(
        eventId=data["eventId"],
        userId=data["userId"],
        ticket=data["position"],
        addedAt=data["addedAt"],
        position=position,
    )
