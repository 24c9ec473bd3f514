"""Events table: event items carry their own counters (registeredCount, waitlistCount) and the
waitlist ticket sequence (waitlistSeq), so that registrations can move them in one transaction,
and a generation (a UUID4 per creation), so that a deletion only ever touches the event it
started on, never one re-created under the same id meanwhile."""

from __future__ import annotations

import uuid
from typing import Any

from shared.auth import not_owner
from shared.config import get_settings
from shared.errors import ConflictError, NotFoundError
from shared.models.domain import Event, Page
from shared.repositories.dynamo import Dynamo, deserialize, query_page, serialize, value
from shared.repositories.failures import DynamoDBError
from shared.repositories.keys import EVENT_LIVE, NOT_DELETING, OWNED_BY, event_key, is_live

STATUS_INDEX = "StatusIndex"


def event_from_item(item: dict[str, Any]) -> Event:
    data = deserialize(item)
    return Event(
        eventId=data["eventId"],
        title=data["title"],
        description=data.get("description", ""),
        date=data["date"],
        location=data["location"],
        organizer=data["organizer"],
        status=data["status"],
        capacity=data.get("capacity"),
        waitlistEnabled=bool(data.get("waitlistEnabled", False)),
        createdAt=data["createdAt"],
        updatedAt=data["updatedAt"],
        registeredCount=data.get("registeredCount", 0),
        waitlistCount=data.get("waitlistCount", 0),
        ownerId=data.get("ownerId"),
    )


class EventRepository:
    def __init__(self, client: Any = None, table: str | None = None) -> None:
        self._client = Dynamo(client)
        self._table = table or get_settings().events_table

    def create(self, event: Event) -> None:
        item = serialize({**event.to_dict(), "waitlistSeq": 0, "generation": str(uuid.uuid4())})
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(eventId)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except DynamoDBError as exc:
            if not exc.condition_failed:
                raise
            if exc.item is not None and not is_live(exc.item):
                # A deletion still removes the old event's children in the background: the id
                # is free as soon as it has finished (seconds for most events).
                raise ConflictError(
                    f"Event {event.eventId} is still being deleted; retry shortly with the same id"
                ) from exc
            raise ConflictError(f"Event {event.eventId} already exists") from exc

    def get(self, event_id: str) -> Event:
        item = self._client.get_item(TableName=self._table, Key=event_key(event_id), ConsistentRead=True).get("Item")
        if not is_live(item):
            raise NotFoundError(f"Event {event_id} not found")
        return event_from_item(item)  # type: ignore[arg-type]

    def list(self, limit: int, cursor: dict[str, Any] | None, status: str | None) -> Page[Event]:
        params: dict[str, Any] = {"TableName": self._table, "FilterExpression": NOT_DELETING}
        if status is None:
            items, next_cursor = query_page(self._client, "scan", params, limit, cursor, ("eventId",))
        else:
            params.update(
                IndexName=STATUS_INDEX,
                KeyConditionExpression="#status = :status",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": value(status)},
            )
            items, next_cursor = query_page(
                self._client, "query", params, limit, cursor, ("eventId", "status", "createdAt")
            )
        return Page([event_from_item(item) for item in items], next_cursor)

    def update(self, event_id: str, changes: dict[str, Any], now: str, owner: str | None = None) -> Event:
        """Replaces the given fields; a new capacity must still hold everyone confirmed. With an
        `owner`, only an event of that owner changes (checked by the write itself)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":now": value(now)}
        sets = ["updatedAt = :now"]
        removes = []
        condition = EVENT_LIVE
        if owner is not None:
            condition += f" AND {OWNED_BY}"
            values[":owner"] = value(owner)
        for index, (field, new_value) in enumerate(sorted(changes.items())):
            names[f"#f{index}"] = field
            if new_value is None:
                removes.append(f"#f{index}")
            else:
                sets.append(f"#f{index} = :v{index}")
                values[f":v{index}"] = value(new_value)
            if field == "capacity" and new_value is not None:
                condition += f" AND registeredCount <= :v{index}"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=event_key(event_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except DynamoDBError as exc:
            if not exc.condition_failed:
                raise
            old = exc.item
            if not is_live(old):
                raise NotFoundError(f"Event {event_id} not found") from exc
            if owner is not None and deserialize(old).get("ownerId") != owner:  # type: ignore[arg-type]
                raise not_owner(event_id) from exc
            registered = deserialize(old).get("registeredCount", 0)  # type: ignore[arg-type]
            raise ConflictError(
                f"capacity {changes['capacity']} is below the {registered} confirmed registrations"
            ) from exc
        return event_from_item(response["Attributes"])

    def mark_deleting(self, event_id: str, owner: str | None = None) -> str:
        """Hides the event and closes it to every write; the Events stream then hands the removal
        of its children to the background (functions/event_changes). Returns the generation being
        deleted (events created before generations existed get one here). An event already being
        deleted is 404, as for every other request. With an `owner`, only an event of that owner
        (checked by the write itself)."""
        condition = EVENT_LIVE
        values: dict[str, Any] = {":true": value(True), ":fresh": value(str(uuid.uuid4()))}
        if owner is not None:
            condition += f" AND {OWNED_BY}"
            values[":owner"] = value(owner)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=event_key(event_id),
                UpdateExpression="SET deleting = :true, generation = if_not_exists(generation, :fresh)",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except DynamoDBError as exc:
            if exc.condition_failed:
                old = exc.item
                if is_live(old) and owner is not None and deserialize(old).get("ownerId") != owner:  # type: ignore[arg-type]
                    raise not_owner(event_id) from exc
                raise NotFoundError(f"Event {event_id} not found") from exc
            raise
        return str(response["Attributes"]["generation"]["S"])

    def deleting_generation(self, event_id: str) -> str | None:
        """The generation of an event marked deleting (one is given to an event marked before
        generations existed); None when the event is gone or not being deleted."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=event_key(event_id),
                UpdateExpression="SET generation = if_not_exists(generation, :fresh)",
                ConditionExpression="attribute_exists(deleting)",
                ExpressionAttributeValues={":fresh": value(str(uuid.uuid4()))},
                ReturnValues="ALL_NEW",
            )
        except DynamoDBError as exc:
            if exc.condition_failed:
                return None
            raise
        return str(response["Attributes"]["generation"]["S"])

    def delete(self, event_id: str, generation: str) -> None:
        """Removes the event item of that generation once its children are gone; gone already
        (another run of the same deletion finished first, and the id may hold a new event now) is
        fine."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=event_key(event_id),
                ConditionExpression="generation = :generation",
                ExpressionAttributeValues={":generation": value(generation)},
            )
        except DynamoDBError as exc:
            if not exc.condition_failed:
                raise
