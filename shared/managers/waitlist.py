"""WaitlistManager: FIFO queue entries and promotion of the head into a free seat."""

from __future__ import annotations

from functools import cache
from typing import Any

from shared.auth import check_owner
from shared.clock import utc_now, utc_now_series
from shared.errors import NotFoundError
from shared.models.domain import Page, WaitlistEntry
from shared.repositories.lookups import Lookups
from shared.repositories.queue import queue_state
from shared.repositories.transactions import EventCounters
from shared.repositories.waitlist import PROMOTION_BATCH, WaitlistRepository


class InconsistentWaitlistError(RuntimeError):
    pass


class WaitlistManager:
    def __init__(self, repository: WaitlistRepository, lookups: Lookups) -> None:
        self._repository = repository
        self._lookups = lookups

    def add_to_waitlist(self, event_id: str, user_id: str, seen: EventCounters) -> WaitlistEntry | EventCounters:
        """Joins at the tail with the next ticket after the one `seen` on the event, conditional on
        the event's queue still being the one seen. Returns the entry with its position (everyone
        waiting when it joined, plus one: no read), or fresh counters when the event changed."""
        return self._repository.try_join(event_id, user_id, seen, utc_now())

    def get_next_position(self, event: EventCounters) -> int:
        return event.waitlistCount + 1

    def remove_from_waitlist(
        self, event_id: str, user_id: str, ticket: int, generation: str | None, owner: str | None = None
    ) -> bool:
        return self._repository.remove(event_id, user_id, ticket, generation, owner)

    def promote_from_waitlist(self, event_id: str) -> str | None:
        """Promotes the head of the waitlist into a free seat, in one transaction. Returns the
        promoted user, or None when no seat is free or nobody waits."""
        promoted = self._promote(event_id, at_most=1)
        return promoted[0] if promoted else None

    def promote_all(self, event_id: str) -> list[str]:
        """Promotes in FIFO order while seats are free and people wait, up to 49 people per
        transaction: read the counters, read that many heads, move them all in one transaction.
        Safe to run any number of times, concurrently too: each transaction is conditional on the
        seats and on every entry, so nobody is promoted twice, skipped, or given a seat that is
        not free; a run that crashes half-way is finished by the next one."""
        return self._promote(event_id, at_most=None)

    def _promote(self, event_id: str, at_most: int | None) -> list[str]:
        promoted: list[str] = []
        refused: set[int] = set()
        while at_most is None or len(promoted) < at_most:
            event = self._repository.seats(event_id)
            if event is None or event.waitlistCount <= 0:
                break
            free = PROMOTION_BATCH if event.capacity is None else event.capacity - event.registeredCount
            room = free if at_most is None else min(free, at_most - len(promoted))
            if room <= 0:
                break
            heads = self._repository.heads(event_id, min(room, PROMOTION_BATCH))
            # An entry refused before and still queued has a missing or disagreeing registration
            # marker: promote the people ahead of it, then fail loudly once it is the head (the
            # stream record is retried, then parked on the failure queue and alarmed on).
            broken = next((n for n, entry in enumerate(heads) if entry.ticket in refused), None)
            if broken == 0:
                raise InconsistentWaitlistError(f"waitlist entry {heads[0].ticket} of event {event_id} has no marker")
            heads = heads[:broken]
            if not heads:
                break
            outcome = self._repository.try_promote(heads, event.capacity, utc_now_series(len(heads)))
            if outcome is None:
                continue  # the seats moved since the read: read them again
            if not outcome:
                promoted += [entry.userId for entry in heads]
            # Else those entries left (or another run promoted them) between the read and the write,
            # or their markers disagree: the next read tells which.
            refused.update(entry.ticket for entry in outcome)
        return promoted

    def list_for_event(
        self, event_id: str, limit: int, cursor: dict[str, Any] | None, owner: str | None = None
    ) -> Page[dict[str, Any]]:
        """`owner`: when given, only the owner of the event may see it (else 403)."""
        page = self._repository.event_waitlist(event_id, limit, cursor)
        names, event = self._lookups.names([entry.userId for entry in page.items], also_event=event_id)
        if event is None:
            raise NotFoundError(f"Event {event_id} not found")
        check_owner(owner, event.get("ownerId"), event_id)
        first = 1
        if cursor and page.items:
            first = self._repository.positions(page.items[:1], {event_id: queue_state(event)})[0]
        items = [
            {**entry.to_dict(), "position": first + offset, "name": names.get(entry.userId)}
            for offset, entry in enumerate(page.items)
        ]
        for item in items:
            item.pop("status")
        return Page(items, page.cursor)

    def list_for_user(self, user_id: str, limit: int, cursor: dict[str, Any] | None) -> Page[dict[str, Any]]:
        page = self._repository.user_waitlist(user_id, limit, cursor)
        if not page.items and not self._lookups.user_exists(user_id):
            raise NotFoundError(f"User {user_id} not found")
        events, queues = self._lookups.events_and_queues([entry.eventId for entry in page.items])
        waiting = [entry for entry in page.items if entry.eventId in events]
        positions = self._repository.positions(waiting, queues)
        items = [
            {**events[entry.eventId].to_dict(), "position": position, "addedAt": entry.addedAt}
            for entry, position in zip(waiting, positions, strict=True)
        ]
        return Page(items, page.cursor)


@cache
def default() -> WaitlistManager:
    return WaitlistManager(WaitlistRepository(), Lookups())
