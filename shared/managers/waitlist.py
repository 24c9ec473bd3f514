"""WaitlistManager: FIFO queue entries and promotion of the head into a free seat."""

from __future__ import annotations

from functools import cache
from typing import Any

from shared.auth import check_owner
from shared.clock import utc_now
from shared.errors import InternalError, NotFoundError, ServiceUnavailableError
from shared.models.domain import Page, WaitlistEntry
from shared.observability import logger
from shared.repositories.lookups import Lookups
from shared.repositories.transactions import EventCounters
from shared.repositories.waitlist import WaitlistRepository

# Entries promote_all reads per round trip: ten small items are one strongly consistent read unit,
# and a capacity raise of thousands then costs ~1.1 round trips per seat instead of 2.
HEAD_READ = 10


class InconsistentWaitlistError(RuntimeError):
    pass


class WaitlistManager:
    def __init__(self, repository: WaitlistRepository, lookups: Lookups) -> None:
        self._repository = repository
        self._lookups = lookups

    def add_to_waitlist(self, event_id: str, user_id: str, seen: EventCounters) -> WaitlistEntry | EventCounters:
        """Joins at the tail with the next ticket after the one `seen` on the event. Returns the
        entry with its live position, or fresh counters when the event changed meanwhile."""
        joined = self._repository.try_join(event_id, user_id, seen.waitlistSeq, utc_now())
        if isinstance(joined, EventCounters):
            return joined
        try:
            position = self._repository.live_position(event_id, joined.ticket)
        except (ServiceUnavailableError, InternalError):
            # The join has committed: answer 201 all the same, with the place the tail had when
            # the join was decided (GET …/waitlist tells the live one), rather than a 503 whose
            # retry would only hear "already on the waitlist".
            logger.warning("live position unavailable", extra={"eventId": event_id, "userId": user_id})
            position = self.get_next_position(seen)
        return WaitlistEntry(joined.eventId, joined.userId, joined.ticket, joined.addedAt, position)

    def get_next_position(self, event: EventCounters) -> int:
        return event.waitlistCount + 1

    def remove_from_waitlist(self, event_id: str, user_id: str, ticket: int, owner: str | None = None) -> bool:
        return self._repository.remove(event_id, user_id, ticket, owner)

    def promote_from_waitlist(self, event_id: str) -> str | None:
        """Promotes the head of the waitlist into a free seat, in one transaction. Returns the
        promoted user, or None when no seat is free or nobody waits."""
        promoted = self._promote(event_id, head_size=1, most=1)
        return promoted[0] if promoted else None

    def promote_all(self, event_id: str) -> list[str]:
        """Promotes in FIFO order while seats are free and people wait. Safe to run any number of
        times, concurrently too: each promotion is conditional on the seat and the entry."""
        return self._promote(event_id, head_size=HEAD_READ)

    def _promote(self, event_id: str, head_size: int, most: int | None = None) -> list[str]:
        """Reads the first `head_size` in line at once (one round trip, one read unit at this
        size), then promotes them one conditional transaction each, in order: a promotion needs 1
        round trip, plus one read per `head_size`. Tickets follow commit order, so nobody can join
        ahead of the entries read; when one of them has left meanwhile (its transaction is
        refused), the line is read again rather than anyone behind it promoted."""
        promoted: list[str] = []
        refused: WaitlistEntry | None = None
        while most is None or len(promoted) < most:
            heads = self._repository.head(event_id, head_size if most is None else min(head_size, most - len(promoted)))
            if not heads:
                return promoted
            if heads[0] == refused:
                # The same entry refused twice: its registration marker is missing or disagrees.
                # Fail loudly (the stream record is retried, then parked on the failure queue and
                # alarmed on) rather than loop.
                raise InconsistentWaitlistError(f"waitlist entry {refused.ticket} of event {event_id} has no marker")
            for entry in heads:
                outcome = self._repository.try_promote(entry, utc_now())
                if outcome is None:
                    return promoted  # no seat free (or the event is gone)
                if not outcome:
                    # It left (or another run promoted it) between the read and the write: look again.
                    refused = entry
                    break
                promoted.append(entry.userId)
                refused = None
                if most is not None and len(promoted) >= most:
                    break
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
        items = [{**entry.to_dict(), "name": names.get(entry.userId)} for entry in page.items]
        for item in items:
            item.pop("status")
        return Page(items, page.cursor)

    def list_for_user(self, user_id: str, limit: int, cursor: dict[str, Any] | None) -> Page[dict[str, Any]]:
        page = self._repository.user_waitlist(user_id, limit, cursor)
        if not page.items and not self._lookups.user_exists(user_id):
            raise NotFoundError(f"User {user_id} not found")
        events = self._lookups.events_by_id([entry.eventId for entry in page.items])
        items = [
            {
                **events[entry.eventId].to_dict(),
                "position": self._repository.live_position(entry.eventId, entry.ticket),
                "addedAt": entry.addedAt,
            }
            for entry in page.items
            if entry.eventId in events
        ]
        return Page(items, page.cursor)


@cache
def default() -> WaitlistManager:
    return WaitlistManager(WaitlistRepository(), Lookups())
