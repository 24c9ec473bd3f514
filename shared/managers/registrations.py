"""RegistrationManager: registering (a seat, else the waitlist, else "full") and unregistering."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from shared import retry
from shared.auth import check_owner
from shared.clock import utc_now
from shared.config import get_settings
from shared.errors import ContendedError, EventFullError, NotFoundError, TooManyRequestsError
from shared.managers import admission
from shared.managers.admission import AdmissionManager
from shared.managers.capacity import CapacityManager
from shared.managers.waitlist import WaitlistManager
from shared.models.domain import Page, Registration, WaitlistEntry
from shared.repositories.lookups import Lookups
from shared.repositories.registrations import RegistrationRepository
from shared.repositories.transactions import EventCounters

# How long a registration keeps trying (then 429, within the function's 10 s timeout). A join that
# loses the next ticket to another join retries without counting it as a failed attempt: each loss
# is someone else's committed join, so the queue moves.
GIVE_UP_AFTER = 8.0


class RegistrationManager:
    def __init__(
        self,
        repository: RegistrationRepository,
        waitlist: WaitlistManager,
        capacity: CapacityManager,
        lookups: Lookups,
        admission: AdmissionManager,
    ) -> None:
        self._repository = repository
        self._waitlist = waitlist
        self._capacity = capacity
        self._lookups = lookups
        self._admission = admission

    def register_user(self, event_id: str, user_id: str) -> Registration | WaitlistEntry:
        """A free seat nobody waits for → confirmed (one transaction). Otherwise the waitlist, when
        enabled (one transaction; the position comes from the counters it was conditional on).
        Each failed condition hands back the event's current counters, so a race costs one more
        attempt, never a wrong answer. A join that lost the next ticket to another join (or a
        leave) tries the following one after a jittered wait, without counting it as a failed
        attempt (someone else's join committed: the queue moves). 429 after TRANSACTION_ATTEMPTS
        failed attempts or GIVE_UP_AFTER seconds."""
        deadline = time.monotonic() + GIVE_UP_AFTER
        if admission.is_hot(event_id):
            return self._admission.register(event_id, user_id, deadline)
        try:
            return self._register(event_id, user_id, deadline)
        except ContendedError:
            if time.monotonic() >= deadline:
                raise
        # Other registrations' transactions on the event kept cancelling ours: it is hot.
        admission.mark_hot(event_id)
        return self._admission.register(event_id, user_id, deadline)

    def _register(self, event_id: str, user_id: str, deadline: float) -> Registration | WaitlistEntry:
        seen: EventCounters | None = None
        attempts = get_settings().transaction_attempts
        attempt = lost = 0
        while attempt < attempts and time.monotonic() < deadline:
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
            lost_race = (joined.waitlistSeq, joined.waitlistCount) != (seen.waitlistSeq, seen.waitlistCount)
            seen = joined
            if lost_race:
                lost += 1
                retry.backoff(lost)
                continue
            retry.backoff(attempt)
            attempt += 1
        raise TooManyRequestsError("Too many concurrent registrations for this event, please retry")

    def unregister_user(self, event_id: str, user_id: str, owner: str | None = None) -> str:
        """Removes a confirmed registration (its seat then belongs to the waitlist: the stream
        handler promotes) or a waitlist entry. Returns which of the two it was. `owner`: when
        given, only from an event with that ownerId (else 403, nothing changed)."""
        for _ in range(get_settings().transaction_attempts):
            waiting = self._repository.remove_confirmed(event_id, user_id, owner)
            if waiting is None:
                return "confirmed"
            ticket, generation = waiting
            if self._waitlist.remove_from_waitlist(event_id, user_id, ticket, generation, owner):
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

    return RegistrationManager(
        RegistrationRepository(), waitlist.default(), CapacityManager(), Lookups(), admission.default()
    )
