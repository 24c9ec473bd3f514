"""Exact waitlist positions in O(log n) reads, kept by DynamoDB itself.

Tickets are dense: a join takes `waitlistSeq + 1` in a transaction conditional on `waitlistSeq`
(and `waitlistCount`) still being what it read, so every ticket 1..waitlistSeq was issued to
exactly one committed join. Each ticket then ends in one of three states: waiting, promoted, or
left. Promotion always takes the lowest tickets still waiting, so for a waiting ticket `t`:

    position(t) = t - promotedCount - (tickets below t that left)

`promotedCount` is on the event item, moved by promotion in the same update as the other
counters. The tickets that left are counted by a Fenwick tree: one item per node, in the Waitlist
table under a partition of its own per event generation (`<eventId>#<generation>`; `#` is never
in an id), each leave adding 1 to the ≤ 33 nodes above its ticket in its own transaction. A prefix
sum reads ≤ 32 nodes. See docs/data-model.md, "Positions"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.repositories.dynamo import value

# The largest ticket an event issues (joins per event, over its whole life).
MAX_TICKET = 2**32
LEAVERS = "leavers"


def tree_partition(event_id: str, generation: str | None) -> str:
    """The partition key of the event generation's tree of leavers in the Waitlist table."""
    return f"{event_id}#{generation or ''}"


def nodes_to_add(ticket: int) -> Iterator[int]:
    """The nodes a leave of `ticket` adds 1 to (Fenwick update: i += i & -i)."""
    if not 0 < ticket <= MAX_TICKET:
        raise ValueError(f"ticket {ticket} outside 1..{MAX_TICKET}")
    node = ticket
    while node <= MAX_TICKET:
        yield node
        node += node & -node


def nodes_to_sum(below: int) -> Iterator[int]:
    """The nodes whose counts add up to the leavers with tickets 1..`below` (i -= i & -i)."""
    node = min(below, MAX_TICKET)
    while node > 0:
        yield node
        node -= node & -node


def node_key(partition: str, node: int) -> dict[str, Any]:
    return {"eventId": value(partition), "position": value(node)}


def position(ticket: int, promoted: int, left_below: int) -> int:
    """The live place in line of a waiting ticket (1 at the head)."""
    return max(ticket - promoted - left_below, 1)


@dataclass(frozen=True)
class QueueState:
    """What an event item tells about its queue: the tree's generation, and how many promoted."""

    generation: str | None
    promoted: int


def queue_state(event: dict[str, Any] | None) -> QueueState:
    """From a (deserialized) event item; an event gone or unknown has nobody promoted."""
    event = event or {}
    return QueueState(event.get("generation"), int(event.get("promotedCount", 0)))


# What an event read must project to compute positions.
QUEUE_ATTRIBUTES = "generation, promotedCount"
