"""RegistrationManager: registering (a seat, else the waitlist, else "full") and unregistering."""

from __future__ import annotations

from functools import cache
from typing import Any

from shared import retry
from shared.auth import check_owner
from shared.clock import utc_now
from shared.config import get_settings
from shared.errors import EventFullError, NotFoundError, TooManyRequestsError
from shared.managers.capacity import CapacityManager
from shared.managers.waitlist import WaitlistManager
from shared.models.domain import Page, Registration, WaitlistEntry
from shared.repositories.lookups import Lookups
from shared.repositories.registrations import RegistrationRepository
from shared.repositories.transactions import EventCounters


class RegistrationManager:
    def __init__(
        self,
        repository: RegistrationRepository,
        waitlist: WaitlistManager,
        capacity: CapacityManager,
        lookups: Lookups,
    ) -> None:
        self._repository = repository
        self._waitlist = waitlist
        self._capacity = capacity
        self._lookups = lookups

    def register_user(self, event_id: str, user_id: str) -> Registration | WaitlistEntry:
        """A free seat nobody waits for → confirmed (one transaction). Otherwise the waitlist, when
        enabled (one transaction, plus one query for the live position). Each failed condition hands
        back the event's current counters, so a race costs one more attempt, never a wrong answer."""
        seen: EventCounters | None = None
        attempts = get_settings().transaction_attempts
        for attempt in range(attempts):
            if seen is None or self._capacity.check_capacity(seen).open_to_newcomer:
                outcome = self._repository.try_confirm(event_id, user_id, utc_now())
                if isinstance(outcome, Registration):
                    return outcome
                seen = outcome
            if not seen.waitlistEnabled:
                raise EventFullError()
            joined = self._waitlist.add_to_waitlist(event_id, user_id, seen)
            if isinstance(joined, WaitlistEntry):
                return joined
            seen = joined
            retry.backoff(attempt)
        raise TooManyRequestsError("Too many concurrent registrations for this event, please retry")

    def unregister_user(self, event_id: str, user_id: str, owner: str | None = None) -> str:
        """Removes a confirmed registration (its seat then belongs to the waitlist: the stream
        handler promotes) or a waitlist entry. Returns which of the two it was. `owner`: when
        given, only from an event with that ownerId (else 403, nothing changed)."""
        for _ in range(get_settings().transaction_attempts):
            ticket = self._repository.remove_confirmed(event_id, user_id, owner)
            if ticket is None:
                return "confirmed"
            if self._waitlist.remove_from_waitlist(event_id, user_id, ticket, owner):
                return "waitlisted"
            # Promoted between the two calls: it is a confirmed registration now.
        raise TooManyRequestsError("The registration kept changing, please retry")

    def list_for_event(
        self, event_id: str, limit: int, cursor: dict[str, Any] | None, owner: str | None = None
    ) -> Page[dict[str, Any]]:
        """`owner`: when given, only the owner of the event may see it (else 403)."""
        page = self._repository.event_registrations(event_id, limit, cursor)
        names, event = self._lookups.names([r.userId for r in page.items], also_event=event_id)
        if event is None:
            raise NotFoundError(f"Event {event_id} not found")
        check_owner(owner, event.get("ownerId"), event_id)
        return Page([{**r.to_dict(), "name": names.get(r.userId)} for r in page.items], page.cursor)

    def get_user_registrations(self, user_id: str, limit: int, cursor: dict[str, Any] | None) -> Page[dict[str, Any]]:
        page = self._repository.user_registrations(user_id, limit, cursor)
        if not page.items and not self._lookups.user_exists(user_id):
            raise NotFoundError(f"User {user_id} not found")
        events = self._lookups.events_by_id([r.eventId for r in page.items])
        items = [
            {**events[r.eventId].to_dict(), "registeredAt": r.registeredAt} for r in page.items if r.eventId in events
        ]
        return Page(items, page.cursor)


@cache
def default() -> RegistrationManager:
    from shared.managers import waitlist

    return RegistrationManager(RegistrationRepository(), waitlist.default(), CapacityManager(), Lookups())
