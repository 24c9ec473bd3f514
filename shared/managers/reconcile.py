"""ReconcileManager: the safety net behind the streams.

For every live event it recounts confirmed registrations and waitlist entries, repairs the stored
counters when they disagree, then promotes anyone left waiting beside a free seat through the
waitlist's own promotion path. Then it finishes the deletion of every event still marked deleting
(the Events stream's record lost or given up on), through the background's own conditional path.
On a healthy system it writes nothing.

Reads are not a snapshot: a registration may commit between reading the counters and counting
the items, which looks like drift for a moment. So a disagreement is acted on only when the same
counters, at the same counter version, and the same counts are seen twice in a row, and the
repair is conditional on the version still being the one read. Every write that moves a counter
moves the version in the same transaction as the items it counts, so equal versions on both sides
of a count mean nothing changed during it — churn that returns the counters to the same values
(ABA) moves the version and sends the job round again. After a repair, whether anyone waits beside
a free seat is decided on the counters read again, never on the values it just wrote."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from shared.managers.event_changes import EventChangesManager
from shared.managers.waitlist import WaitlistManager
from shared.observability import logger
from shared.repositories.reconcile import ActualCounts, ReconcileRepository, StoredCounters

# How many looks at one event before leaving it to the next run (it only ever takes more than two
# when the event is busy, which is also when a repair matters least: the next run comes soon).
ATTEMPTS = 6
# Stop starting new events when less time than this is left (seconds).
TIME_MARGIN = 15.0


@dataclass
class EventRepair:
    eventId: str
    counters: dict[str, dict[str, int | None]] = field(default_factory=dict)
    promoted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"eventId": self.eventId, "counters": self.counters, "promoted": self.promoted}


@dataclass(frozen=True)
class Skipped:
    eventId: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"eventId": self.eventId, "reason": self.reason}


@dataclass
class ReconcileReport:
    checked: int = 0
    repaired: list[EventRepair] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    deletions_finished: list[str] = field(default_factory=list)
    complete: bool = True

    @property
    def counters_repaired(self) -> int:
        return sum(1 for repair in self.repaired if repair.counters)

    @property
    def promoted(self) -> int:
        return sum(len(repair.promoted) for repair in self.repaired)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "repaired": [repair.to_dict() for repair in self.repaired],
            "skipped": [skipped.to_dict() for skipped in self.skipped],
            "deletionsFinished": self.deletions_finished,
            "complete": self.complete,
        }


@dataclass(frozen=True)
class _Verified:
    """Counters known to equal the counts (after a repair, if one was needed)."""

    counts: ActualCounts
    capacity: int | None
    fixed: dict[str, dict[str, int | None]]
    # Waitlist tickets issued but neither waiting, promoted nor left (read with the counters).
    unaccounted: int = 0


def _unaccounted(seen: StoredCounters, actual: ActualCounts) -> int:
    """Tickets issued minus those waiting (counted), promoted and left (both read with `seen`)."""
    return seen.issued - seen.promoted - seen.left - actual.waiting


def _agrees(seen: StoredCounters, actual: ActualCounts) -> bool:
    return (
        seen.registeredCount == actual.confirmed
        and seen.waitlistCount == actual.waiting
        and actual.markers == actual.waiting
    )


class ReconcileManager:
    def __init__(
        self,
        repository: ReconcileRepository,
        waitlist: WaitlistManager,
        changes: EventChangesManager | None = None,
        attempts: int = ATTEMPTS,
    ) -> None:
        self._repository = repository
        self._waitlist = waitlist
        self._changes = changes
        self._attempts = attempts

    def reconcile_all(self, seconds_left: Callable[[], float] | None = None) -> ReconcileReport:
        """Every live event, until done or until `seconds_left()` drops below the margin."""
        report = ReconcileReport()
        for event_id in self._repository.live_event_ids():
            if seconds_left is not None and seconds_left() < TIME_MARGIN:
                report.complete = False
                break
            report.checked += 1
            outcome = self.reconcile_event(event_id)
            if isinstance(outcome, Skipped):
                report.skipped.append(outcome)
            elif outcome is not None:
                report.repaired.append(outcome)
        if report.complete and self._changes is not None:
            for event_id in self._repository.deleting_event_ids():
                if seconds_left is not None and seconds_left() < TIME_MARGIN:
                    report.complete = False
                    break
                if self._changes.finish_unfinished_deletion(event_id) is not None:
                    report.deletions_finished.append(event_id)
        return report

    def reconcile_event(self, event_id: str) -> EventRepair | Skipped | None:
        """None when nothing needed doing (or the event went away meanwhile)."""
        verified = self._verify_counters(event_id)
        if verified is None or isinstance(verified, Skipped):
            return verified
        repair = EventRepair(event_id, counters=verified.fixed)
        registered, waiting, capacity = verified.counts.confirmed, verified.counts.waiting, verified.capacity
        if repair.counters:
            fresh = self._repository.counters(event_id)
            if fresh is None:  # deleted meanwhile
                logger.warning("reconciled", extra=repair.to_dict())
                return repair
            registered, waiting, capacity = fresh.registeredCount or 0, fresh.waitlistCount or 0, fresh.capacity
        if waiting and (capacity is None or registered < capacity):
            # Someone waits beside a free seat (a lost stream record, or a repaired counter).
            repair.promoted = self._waitlist.promote_all(event_id)
        if verified.unaccounted:
            # Positions are ticket - promoted - leavers below: a ticket gone any other way (an entry
            # removed by hand) leaves everyone behind it one place too far back. Not a counter to
            # repair: a human rebuilds the tree (docs/data-model.md, "Positions").
            reason = (
                f"{verified.unaccounted} waitlist tickets are neither waiting, promoted nor left: "
                "positions behind them are off"
            )
            logger.error("waitlist tickets unaccounted", extra={"eventId": event_id, "reason": reason})
            if not repair.counters and not repair.promoted:
                return Skipped(event_id, reason)
        if not repair.counters and not repair.promoted:
            return None
        logger.warning("reconciled", extra=repair.to_dict())
        return repair

    def _verify_counters(self, event_id: str) -> _Verified | Skipped | None:
        previous: tuple[StoredCounters, ActualCounts] | None = None
        for _ in range(self._attempts):
            seen = self._repository.counters(event_id)
            if seen is None:
                return None
            actual = self._repository.count(event_id)
            if _agrees(seen, actual):
                return _Verified(actual, seen.capacity, fixed={}, unaccounted=_unaccounted(seen, actual))
            if (seen, actual) != previous:
                # Seen once: a write may have landed between the two reads. Look again.
                previous = (seen, actual)
                continue
            if actual.markers != actual.waiting:
                # No code path writes one without the other: not a counter drift, leave it to a human.
                return Skipped(
                    event_id,
                    f"{actual.waiting} waitlist entries but {actual.markers} waitlisted registrations",
                )
            if self._repository.repair(event_id, seen, actual):
                fixed = {
                    name: {"from": stored, "to": real}
                    for name, stored, real in (
                        ("registeredCount", seen.registeredCount, actual.confirmed),
                        ("waitlistCount", seen.waitlistCount, actual.waiting),
                    )
                    if stored != real
                }
                return _Verified(actual, seen.capacity, fixed, unaccounted=_unaccounted(seen, actual))
            previous = None  # the counters moved under the repair: start over
        return Skipped(event_id, f"counters kept changing during {self._attempts} attempts; the next run retries")


@cache
def default() -> ReconcileManager:
    from shared.managers import event_changes, waitlist

    return ReconcileManager(ReconcileRepository(), waitlist.default(), event_changes.default())
