"""CapacityManager: what an event's counters say about its seats."""

from __future__ import annotations

from dataclasses import dataclass

from shared.models.domain import Event
from shared.repositories.transactions import EventCounters


@dataclass(frozen=True)
class CapacityStatus:
    capacity: int | None
    registered: int
    waiting: int

    @property
    def available_spots(self) -> int | None:
        """Seats not taken; None when unlimited."""
        return None if self.capacity is None else max(self.capacity - self.registered, 0)

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.registered >= self.capacity

    @property
    def open_to_newcomer(self) -> bool:
        """A newcomer may take a seat only when one is free and nobody waits for it (no skipping ahead)."""
        return not self.is_full and self.waiting == 0


class CapacityManager:
    def check_capacity(self, event: Event | EventCounters) -> CapacityStatus:
        return CapacityStatus(capacity=event.capacity, registered=event.registeredCount, waiting=event.waitlistCount)

    def is_event_full(self, event: Event | EventCounters) -> bool:
        return self.check_capacity(event).is_full

    def get_available_spots(self, event: Event | EventCounters) -> int | None:
        return self.check_capacity(event).available_spots
