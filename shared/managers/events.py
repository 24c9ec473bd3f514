"""EventManager: the Events API. Each request answers in a bounded number of round trips; what a
change leaves to do (promotion after a capacity raise, the children of a large deleted event) is
done in the background, fed by the Events stream (shared/managers/event_changes.py)."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from shared.clock import utc_now
from shared.models.domain import Event, Page
from shared.models.requests import EventCreate, EventUpdate
from shared.repositories.deletion import EventDeletionRepository
from shared.repositories.events import EventRepository


class EventManager:
    def __init__(self, events: EventRepository, deletion: EventDeletionRepository) -> None:
        self._events = events
        self._deletion = deletion

    def create(self, request: EventCreate, owner_id: str | None = None) -> Event:
        now = utc_now()
        event = Event(
            eventId=request.eventId or str(uuid.uuid4()),
            title=request.title,
            description=request.description,
            date=request.date,
            location=request.location,
            organizer=request.organizer,
            status=request.status,
            capacity=request.capacity,
            waitlistEnabled=request.waitlistEnabled,
            createdAt=now,
            updatedAt=now,
            ownerId=owner_id,
        )
        self._events.create(event)
        return event

    def get(self, event_id: str) -> Event:
        return self._events.get(event_id)

    def list(self, limit: int, cursor: dict[str, Any] | None, status: str | None) -> Page[Event]:
        return self._events.list(limit, cursor, status)

    def update(self, event_id: str, request: EventUpdate, owner: str | None = None) -> Event:
        """One conditional write; the event as that write left it. A capacity raise (or removal)
        while people wait is promoted by the background from the Events stream. `owner`: when
        given, only an event with that ownerId changes (else 403)."""
        return self._events.update(event_id, request.changes(), utc_now(), owner)

    def delete(self, event_id: str, owner: str | None = None) -> None:
        """At most three round trips, whatever the event's size. A small event (its rows fit in one
        transaction) goes at once with everything it holds, so its id is free again on the answer.
        Otherwise — or when a registration moved between the read and the write — the event is
        marked deleting: invisible (404) and closed to every write from then on, its id taken
        (409 on create) until the background has removed its children and then it. `owner`: when
        given, only an event with that ownerId goes (else 403, nothing changed)."""
        if not self._deletion.try_delete_at_once(event_id, owner):
            self._events.mark_deleting(event_id, owner)


@cache
def default() -> EventManager:
    return EventManager(EventRepository(), EventDeletionRepository())
