"""EventChangesManager: what a change to an event leaves to the background (the Events stream, and
the reconciliation for records that were lost).

- A capacity raised (or removed) while people wait: promote them in FIFO order until the event is
  full again, through the waitlist's own promotion path (up to 49 seats per conditional
  transaction, so a retry continues from the head and nobody is promoted twice).
- An event marked deleting: remove its registrations and waitlist entries, then the event, each
  step conditional on the generation marked. A record of a generation already gone (the deletion
  finished, or the id holds a re-created event) changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from shared.managers.waitlist import WaitlistManager
from shared.repositories.events import EventRepository
from shared.repositories.registrations import RegistrationRepository


@dataclass
class Outcome:
    """What one change asked for and what was done."""

    eventId: str
    promoted: list[str] = field(default_factory=list)
    removed: int | None = None  # children removed, when the change was a deletion


class EventChangesManager:
    def __init__(
        self, events: EventRepository, registrations: RegistrationRepository, waitlist: WaitlistManager
    ) -> None:
        self._events = events
        self._registrations = registrations
        self._waitlist = waitlist

    def changed(self, old: dict[str, Any], new: dict[str, Any]) -> Outcome | None:
        """An event item's images before and after a write (plain values). None when the change
        asks for nothing."""
        event_id = str(new.get("eventId") or old.get("eventId") or "")
        if not event_id or not new:
            return None
        if new.get("deleting"):
            if not new.get("generation"):
                return None  # every marking writes a generation; nothing to match the deletion on
            return Outcome(event_id, removed=self.finish_deletion(event_id, str(new["generation"])))
        if _int(new.get("waitlistCount")) > 0 and capacity_raised(old, new):
            return Outcome(event_id, promoted=self._waitlist.promote_all(event_id))
        return None

    def finish_unfinished_deletion(self, event_id: str) -> int | None:
        """For the reconciliation: finishes the deletion of an event still marked deleting (its
        stream record lost, or given up on). None when the event is not being deleted any more."""
        generation = self._events.deleting_generation(event_id)
        if generation is None:
            return None
        return self.finish_deletion(event_id, generation)

    def finish_deletion(self, event_id: str, generation: str) -> int:
        """Removes the children of that generation of the event, then the event. Returns how many
        children went (0 when another run, or an earlier delivery, had finished)."""
        removed = self._registrations.delete_all_for_event(event_id, generation)
        self._events.delete(event_id, generation)
        return removed


def capacity_raised(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """More seats after the write than before: a larger capacity, or none (unlimited) any more."""
    if not old:
        return False
    before, after = old.get("capacity"), new.get("capacity")
    if after is None:
        return before is not None
    return before is not None and _int(after) > _int(before)


def _int(number: Any) -> int:
    return int(number) if number is not None else 0


@cache
def default() -> EventChangesManager:
    from shared.managers import waitlist

    return EventChangesManager(EventRepository(), RegistrationRepository(), waitlist.default())
