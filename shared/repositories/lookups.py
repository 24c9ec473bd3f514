"""Reads of Users and Events that dress up a list of registrations or waitlist entries: the users'
names (with, in the same BatchGetItem, the event's owner), the events themselves, and whether a
user exists at all (an empty list of someone unknown is a 404)."""

from __future__ import annotations

from typing import Any

from shared.models.domain import Event
from shared.repositories.dynamo import Tables, batch_get, deserialize
from shared.repositories.events import event_from_item
from shared.repositories.keys import event_key, is_live, user_key
from shared.repositories.queue import QUEUE_ATTRIBUTES, QueueState, queue_state


class Lookups(Tables):
    def names(self, user_ids: list[str], also_event: str | None = None) -> tuple[dict[str, str], dict[str, Any] | None]:
        """Users' names in one BatchGetItem and, in the same call, an event's id, owner and queue
        state (`also_event`; None when it is not live)."""
        keys_by_table: dict[str, list[dict[str, Any]]] = {self._users: [user_key(u) for u in user_ids]}
        if also_event is not None:
            keys_by_table[self._events] = [event_key(also_event)]
        projections = {self._users: "userId, #name", self._events: f"eventId, deleting, ownerId, {QUEUE_ATTRIBUTES}"}
        found = batch_get(self._client, keys_by_table, projections)
        names = {user["userId"]["S"]: user["name"]["S"] for user in found[self._users]}
        live = [deserialize(event) for event in found.get(self._events, []) if is_live(event)]
        return names, (live[0] if live else None)

    def events_by_id(self, event_ids: list[str]) -> dict[str, Event]:
        """The live ones among these events (one BatchGetItem per 100)."""
        return self.events_and_queues(event_ids)[0]

    def events_and_queues(self, event_ids: list[str]) -> tuple[dict[str, Event], dict[str, QueueState]]:
        """The live ones among these events, and their queue states (one BatchGetItem per 100)."""
        if not event_ids:
            return {}, {}
        found = batch_get(self._client, {self._events: [event_key(e) for e in event_ids]}, {})
        live = [item for item in found[self._events] if is_live(item)]
        return (
            {item["eventId"]["S"]: event_from_item(item) for item in live},
            {item["eventId"]["S"]: queue_state(deserialize(item)) for item in live},
        )

    def user_exists(self, user_id: str) -> bool:
        return "Item" in self._client.get_item(
            TableName=self._users, Key=user_key(user_id), ProjectionExpression="userId"
        )
