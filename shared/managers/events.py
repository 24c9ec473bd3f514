"""EventManager: the Events API. Raising capacity promotes through the waitlist's own path."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from shared.clock import utc_now
from shared.managers.waitlist import WaitlistManager
from shared.models.domain import Event, Page
from shared.models.requests import EventCreate, EventUpdate
from shared.repositories.events import EventRepository
from shared.repositories.registrations import RegistrationRepository


class EventManager:
    def __init__(
        self, events: EventRepository, registrations: RegistrationRepository, waitlist: WaitlistManager
    ) -> None:
        self._events = events
        self._registrations = registrations
        self._waitlist = waitlist

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
        """`owner`: when given, only an event with that ownerId changes (else 403)."""
        changes = request.changes()
        event = self._events.update(event_id, changes, utc_now(), owner)
        if "capacity" in changes and event.waitlistCount > 0 and self._waitlist.promote_all(event_id):
            event = self._events.get(event_id)
        return event

    def delete(self, event_id: str, owner: str | None = None) -> None:
        """Marks the event as deleting (invisible, closed to every write, ignored by promotion),
        removes its registrations and waitlist, then the event. A retry finishes a crashed run;
        every step is conditional on the generation marked, so an overlapping deletion that
        finishes first, and an event re-created under the same id after it, are never touched.
        `owner`: when given, only an event with that ownerId goes (else 403, nothing changed)."""
        generation = self._events.mark_deleting(event_id, owner)
        self._registrations.delete_all_for_event(event_id, generation)
        self._events.delete(event_id, generation)


@cache
def default() -> EventManager:
    from shared.managers import waitlist

    return EventManager(EventRepository(), RegistrationRepository(), waitlist.default())
