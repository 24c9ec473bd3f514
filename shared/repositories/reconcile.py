"""What the reconciliation reads and repairs: an event's stored counters against its items.

Only reads, and one write: a counter repair conditional on the counter version still being the
one read (every write that moves a counter moves it: keys.MOVE_COUNTER_VERSION), so that a
registration, a join or a promotion committed meanwhile makes the repair fail (and the caller look
again) instead of being overwritten — even when the counters came back to the values read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.repositories.dynamo import Tables, deserialize, pages, value
from shared.repositories.failures import DynamoDBError
from shared.repositories.keys import (
    CONFIRMED,
    COUNTER_VERSION,
    EVENT_LIVE,
    MOVE_COUNTER_VERSION,
    NOT_DELETING,
    WAITLISTED,
    event_key,
    is_live,
)


@dataclass(frozen=True)
class StoredCounters:
    """An event's counters as stored; None where the attribute is missing."""

    registeredCount: int | None
    waitlistCount: int | None
    capacity: int | None
    # Moved by every counter change (0: never moved); equal versions mean no change in between.
    version: int = 0
    # Waitlist tickets issued, promoted and left (shared/repositories/queue.py): every ticket
    # issued is waiting, promoted or left, or positions behind the missing ones are off.
    issued: int = 0
    promoted: int = 0
    left: int = 0


@dataclass(frozen=True)
class ActualCounts:
    """What the event's items say: confirmed registrations, waitlist entries, and the
    `waitlisted` markers in Registrations (one per waitlist entry when all is well)."""

    confirmed: int
    waiting: int
    markers: int


class ReconcileRepository(Tables):
    def live_event_ids(self) -> Iterator[str]:
        """Every event not being deleted, one Scan page at a time (only the keys are read)."""
        for page in pages(
            self._client,
            "scan",
            TableName=self._events,
            ProjectionExpression="eventId",
            FilterExpression=NOT_DELETING,
        ):
            for item in page.get("Items", []):
                yield item["eventId"]["S"]

    def deleting_event_ids(self) -> Iterator[str]:
        """Every event still marked deleting: its background cleanup is unfinished, or its stream
        record was lost."""
        for page in pages(
            self._client,
            "scan",
            TableName=self._events,
            ProjectionExpression="eventId",
            FilterExpression="attribute_exists(deleting)",
        ):
            for item in page.get("Items", []):
                yield item["eventId"]["S"]

    def counters(self, event_id: str) -> StoredCounters | None:
        """The event's counters now (strongly consistent); None when it is gone or being deleted."""
        item = self._client.get_item(
            TableName=self._events,
            Key=event_key(event_id),
            ProjectionExpression=f"eventId, registeredCount, waitlistCount, #capacity, deleting, {COUNTER_VERSION}, "
            "waitlistSeq, promotedCount, leftCount",
            ExpressionAttributeNames={"#capacity": "capacity"},
            ConsistentRead=True,
        ).get("Item")
        if not is_live(item):
            return None
        data = deserialize(item)  # type: ignore[arg-type]
        return StoredCounters(
            data.get("registeredCount"),
            data.get("waitlistCount"),
            data.get("capacity"),
            data.get(COUNTER_VERSION, 0),
            issued=data.get("waitlistSeq", 0),
            promoted=data.get("promotedCount", 0),
            left=data.get("leftCount", 0),
        )

    def count(self, event_id: str) -> ActualCounts:
        confirmed = markers = 0
        for page in self._pages(
            self._registrations,
            event_id,
            ProjectionExpression="#status",
            ExpressionAttributeNames={"#status": "status"},
        ):
            for item in page.get("Items", []):
                status = item.get("status", {}).get("S")
                confirmed += status == CONFIRMED
                markers += status == WAITLISTED
        waiting = sum(page.get("Count", 0) for page in self._pages(self._waitlist, event_id, Select="COUNT"))
        return ActualCounts(confirmed=confirmed, waiting=waiting, markers=markers)

    def repair(self, event_id: str, seen: StoredCounters, actual: ActualCounts) -> bool:
        """Sets both counters to the actual counts if the event is still at the version `seen`
        (and still live, and its counters hold the values `seen`). False when anything moved
        meanwhile: nothing was written. The repair moves the version too."""
        condition = [EVENT_LIVE]
        values: dict[str, Any] = {
            ":registered": value(actual.confirmed),
            ":waiting": value(actual.waiting),
            ":one": value(1),
        }
        if seen.version:
            condition.append(f"{COUNTER_VERSION} = :seen_version")
            values[":seen_version"] = value(seen.version)
        else:
            condition.append(f"attribute_not_exists({COUNTER_VERSION})")
        for name, seen_value in (("registeredCount", seen.registeredCount), ("waitlistCount", seen.waitlistCount)):
            if seen_value is None:
                condition.append(f"attribute_not_exists({name})")
            else:
                condition.append(f"{name} = :seen_{name}")
                values[f":seen_{name}"] = value(seen_value)
        try:
            self._client.update_item(
                TableName=self._events,
                Key=event_key(event_id),
                UpdateExpression=f"SET registeredCount = :registered, waitlistCount = :waiting {MOVE_COUNTER_VERSION}",
                ConditionExpression=" AND ".join(condition),
                ExpressionAttributeValues=values,
            )
        except DynamoDBError as exc:
            if exc.condition_failed:
                return False
            raise
        return True

    def _pages(self, table: str, event_id: str, **extra: Any) -> Iterator[dict[str, Any]]:
        """Every Query page of the event's items in `table`, strongly consistent."""
        return pages(
            self._client,
            "query",
            TableName=table,
            KeyConditionExpression="eventId = :event",
            ExpressionAttributeValues={":event": value(event_id)},
            ConsistentRead=True,
            **extra,
        )
