"""Waitlist table: one entry per waiting user, keyed by the event and a ticket (`position`) that
orders the queue. Each entry has its `waitlisted` marker in Registrations, written, removed and
turned into a confirmed registration in the same transaction as the entry and the event's
counters. Tickets are dense (1, 2, … in commit order) and positions live: ticket - promoted -
leavers below it (shared/repositories/queue.py). See docs/data-model.md, "Positions"."""

from __future__ import annotations

from typing import Any

from shared.errors import ConflictError, NotFoundError
from shared.models.domain import Page, WaitlistEntry
from shared.repositories import keys, queue, transactions
from shared.repositories.dynamo import Tables, batch_get, deserialize, query_page, serialize, value
from shared.repositories.failures import DynamoDBError
from shared.repositories.keys import CONFIRMED, WAITLISTED, event_key, registration_key, waitlist_key
from shared.repositories.transactions import ONE, EventCounters

USER_WAITLIST_INDEX = "UserWaitlistIndex"
# Promotions per transaction: the event's update and two items per entry (the entry, its marker)
# stay within DynamoDB's 100 items per TransactWriteItems.
PROMOTION_BATCH = 49
_MARKER_HOLDS_TICKET = "#status = :waitlisted AND ticket = :ticket"


class WaitlistRepository(Tables):
    def try_join(self, event_id: str, user_id: str, seen: EventCounters, now: str) -> WaitlistEntry | EventCounters:
        """One transaction: joins with the next ticket (`waitlistSeq + 1`, so tickets are dense and
        their order is the commit order) while the event is open, full (or has people waiting) and
        has its waitlist on — conditional on the ticket counter and the number waiting still being
        the ones `seen`, so that the position (everyone waiting, plus one) is exact with no read.
        Returns the entry, or the event's fresh counters for the caller to decide again (someone
        else joined or left first, a seat came free, the waitlist was switched off, …)."""
        if seen.waitlistSeq >= queue.MAX_TICKET:
            raise ConflictError(f"Event {event_id} has issued its last waitlist ticket")
        ticket = seen.waitlistSeq + 1
        marker = {"eventId": event_id, "userId": user_id, "status": WAITLISTED, "ticket": ticket, "addedAt": now}
        values: dict[str, Any] = {
            ":one": ONE,
            ":zero": transactions.ZERO,
            ":true": value(True),
            ":ticket": value(ticket),
            ":waiting": value(seen.waitlistCount),
            **keys.OPEN_VALUES,
        }
        unchanged = ["waitlistCount = :waiting"]
        if seen.waitlistSeq:
            unchanged.append("waitlistSeq = :seq")
            values[":seq"] = value(seen.waitlistSeq)
        else:
            unchanged.append("(attribute_not_exists(waitlistSeq) OR waitlistSeq = :zero)")
        if seen.generation is None:
            unchanged.append("attribute_not_exists(generation)")
        else:
            unchanged.append("generation = :generation")
            values[":generation"] = value(seen.generation)
            marker["generation"] = seen.generation
        items = [
            {
                "Update": {
                    "TableName": self._events,
                    "Key": event_key(event_id),
                    "UpdateExpression": (
                        f"SET waitlistSeq = :ticket, waitlistCount = waitlistCount + :one {keys.MOVE_COUNTER_VERSION}"
                    ),
                    "ConditionExpression": (
                        f"{keys.EVENT_OPEN} AND waitlistEnabled = :true AND {transactions.NO_SEAT_FOR_NEWCOMER} "
                        f"AND {' AND '.join(unchanged)}"
                    ),
                    "ExpressionAttributeNames": transactions.STATUS_AND_CAPACITY,
                    "ExpressionAttributeValues": values,
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
            self._client.transact(items, transactions.DIRECT_ATTEMPTS)
        except DynamoDBError as exc:
            return transactions.no_seat_or_raise(exc, event_id, user_id)
        return WaitlistEntry(event_id, user_id, ticket, now, position=seen.waitlistCount + 1)

    def remove(
        self, event_id: str, user_id: str, ticket: int, generation: str | None, owner: str | None = None
    ) -> bool:
        """Deletes a waitlist entry and its marker, and counts the ticket as left (the event's
        `leftCount` and the generation's tree of leavers, for positions). False when the user is no
        longer waiting on that ticket (promoted meanwhile): the caller starts over. With an
        `owner`, only from an event of that owner (checked by the transaction itself)."""
        partition = queue.tree_partition(event_id, generation)
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
            transactions.release(self._events, event_id, "waitlistCount", owner, add=", leftCount :one"),
            *(
                {
                    "Update": {
                        "TableName": self._waitlist,
                        "Key": queue.node_key(partition, node),
                        "UpdateExpression": f"ADD {queue.LEAVERS} :one",
                        "ExpressionAttributeValues": {":one": ONE},
                    }
                }
                for node in queue.nodes_to_add(ticket)
            ),
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

    def seats(self, event_id: str) -> EventCounters | None:
        """The live event's counters, read strongly consistent; None when it is gone or deleting."""
        item = self._client.get_item(
            TableName=self._events,
            Key=event_key(event_id),
            ConsistentRead=True,
            ProjectionExpression="#status, #capacity, registeredCount, waitlistCount, waitlistEnabled, waitlistSeq, "
            "eventId, deleting",
            ExpressionAttributeNames=transactions.STATUS_AND_CAPACITY,
        ).get("Item")
        return transactions.counters(item) if item is not None and keys.is_live(item) else None

    def heads(self, event_id: str, count: int) -> list[WaitlistEntry]:
        """The first `count` entries of the queue (one strongly consistent Query)."""
        response = self._client.query(
            TableName=self._waitlist,
            KeyConditionExpression="eventId = :event",
            ExpressionAttributeValues={":event": value(event_id)},
            Limit=count,
            ConsistentRead=True,
        )
        return [_entry(item, position=n) for n, item in enumerate(response.get("Items", []), start=1)]

    def try_promote(
        self, entries: list[WaitlistEntry], capacity: int | None, now: list[str]
    ) -> list[WaitlistEntry] | None:
        """One transaction: the first entries of the queue take as many free seats and leave the
        waitlist. `capacity` is the one read with the counters: the seat condition is
        `registeredCount <= capacity - len(entries)` on an event whose capacity is still at least
        that (or still unlimited), so the transaction can never overbook. Returns [] when every
        entry was promoted, None when the seats were no longer free (or the event is gone), and
        the entries that were no longer waiting (they left, or another run promoted them).
        `now`: each entry's registeredAt, in queue order (distinct, so lists keep that order)."""
        if not 0 < len(entries) <= PROMOTION_BATCH:
            raise ValueError(f"a promotion moves 1 to {PROMOTION_BATCH} entries, not {len(entries)}")
        event_id = entries[0].eventId
        values: dict[str, Any] = {":one": ONE, ":moved": value(len(entries))}
        if capacity is None:
            seats = "attribute_not_exists(#capacity)"
        else:
            seats = "registeredCount <= :limit AND #capacity >= :capacity"
            values.update({":limit": value(capacity - len(entries)), ":capacity": value(capacity)})
        items = [
            {
                "Update": {
                    "TableName": self._events,
                    "Key": event_key(event_id),
                    "UpdateExpression": (
                        "SET registeredCount = registeredCount + :moved, waitlistCount = waitlistCount - :moved "
                        f"{keys.MOVE_COUNTER_VERSION}, promotedCount :moved"
                    ),
                    "ConditionExpression": f"{keys.EVENT_LIVE} AND {seats}",
                    "ExpressionAttributeNames": {"#capacity": "capacity"},
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        for entry, registered_at in zip(entries, now, strict=True):
            items.append(self._delete_entry(event_id, entry.ticket))
            items.append(
                {
                    "Update": {
                        "TableName": self._registrations,
                        "Key": registration_key(event_id, entry.userId),
                        "UpdateExpression": "SET #status = :confirmed, registeredAt = :now REMOVE ticket, addedAt",
                        "ConditionExpression": _MARKER_HOLDS_TICKET,
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":confirmed": value(CONFIRMED),
                            ":waitlisted": value(WAITLISTED),
                            ":ticket": value(entry.ticket),
                            ":now": value(registered_at),
                        },
                    }
                }
            )
        try:
            self._client.transact(items)
        except DynamoDBError as exc:
            if exc.failed(0):
                return None
            refused = [entry for n, entry in enumerate(entries) if exc.failed(1 + 2 * n) or exc.failed(2 + 2 * n)]
            if refused:
                return refused
            raise
        return []

    def event_waitlist(self, event_id: str, limit: int, cursor: dict[str, Any] | None) -> Page[WaitlistEntry]:
        """Waitlist entries in ticket order; the first page's positions are 1.., a later page's
        are the caller's (`positions` of its first entry)."""
        params = {
            "TableName": self._waitlist,
            "KeyConditionExpression": "eventId = :event",
            "ExpressionAttributeValues": {":event": value(event_id)},
            "ConsistentRead": True,
        }
        items, next_cursor = query_page(self._client, "query", params, limit, cursor, ("eventId", "position"))
        return Page([_entry(item, position=n) for n, item in enumerate(items, start=1)], next_cursor)

    def positions(self, entries: list[WaitlistEntry], queues: dict[str, queue.QueueState]) -> list[int]:
        """Live positions of waiting entries (of any events), given their events' queue states:
        one BatchGetItem of the ≤ 32 tree nodes below each ticket. The event items are read by the
        caller beforehand, so a position lies between the ones at the two reads."""
        wanted = []
        for entry in entries:
            state = queues.get(entry.eventId) or queue.QueueState(None, 0)
            partition = queue.tree_partition(entry.eventId, state.generation)
            wanted.append((entry, state.promoted, partition, list(queue.nodes_to_sum(entry.ticket - 1))))
        keys_wanted = [queue.node_key(partition, node) for _, _, partition, nodes in wanted for node in nodes]
        found = batch_get(self._client, {self._waitlist: keys_wanted}, {})[self._waitlist]
        counts = {(item["eventId"]["S"], int(item["position"]["N"])): int(item[queue.LEAVERS]["N"]) for item in found}
        return [
            queue.position(entry.ticket, promoted, sum(counts.get((partition, node), 0) for node in nodes))
            for entry, promoted, partition, nodes in wanted
        ]

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
