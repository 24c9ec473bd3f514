"""The Fenwick tree of leavers (shared/repositories/queue.py), against a plain count: whatever
tickets leave, the nodes a prefix sum reads add up to the leavers below any ticket, and the
position formula gives every waiting ticket its rank in the queue."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.models.fields import ID_PATTERN
from shared.repositories import queue


def tree_of(leavers: list[int]) -> Counter[int]:
    nodes: Counter[int] = Counter()
    for ticket in leavers:
        for node in queue.nodes_to_add(ticket):
            nodes[node] += 1
    return nodes


@given(st.sets(st.integers(1, 5_000), max_size=200), st.integers(0, 5_000))
def test_prefix_sums_count_the_leavers_below(leavers: set[int], below: int) -> None:
    nodes = tree_of(sorted(leavers))
    assert sum(nodes[n] for n in queue.nodes_to_sum(below)) == sum(1 for t in leavers if t <= below)


@given(st.integers(1, 400), st.data())
def test_positions_are_ranks_after_promotions_and_departures(issued: int, data: st.DataObject) -> None:
    # Promotion takes the lowest tickets still waiting; anyone else may leave
    promoted_through = data.draw(st.integers(0, issued))
    left = data.draw(st.sets(st.integers(1, issued)))
    promoted = [t for t in range(1, promoted_through + 1) if t not in left]
    waiting = [t for t in range(promoted_through + 1, issued + 1) if t not in left]
    nodes = tree_of(sorted(left))
    positions = [queue.position(t, len(promoted), sum(nodes[n] for n in queue.nodes_to_sum(t - 1))) for t in waiting]
    assert positions == list(range(1, len(waiting) + 1))


def test_a_leave_touches_at_most_33_nodes_and_a_sum_reads_at_most_32() -> None:
    assert len(list(queue.nodes_to_add(1))) == 33
    assert max(len(list(queue.nodes_to_add(t))) for t in (1, 2, 3, 1000, 2**31 + 1, queue.MAX_TICKET)) == 33
    assert len(list(queue.nodes_to_sum(queue.MAX_TICKET - 1))) == 32
    assert list(queue.nodes_to_sum(0)) == []


@pytest.mark.parametrize("ticket", [0, -1, queue.MAX_TICKET + 1])
def test_tickets_outside_the_tree_are_refused(ticket: int) -> None:
    with pytest.raises(ValueError):
        list(queue.nodes_to_add(ticket))


def test_the_tree_has_a_partition_per_generation_outside_every_event_id() -> None:
    assert queue.tree_partition("launch", "g1") == "launch#g1" != queue.tree_partition("launch", "g2")
    # `#` is never in an id (shared/models/fields.py), so no event's waitlist shares a tree's key
    assert re.fullmatch(ID_PATTERN, "launch") and not re.fullmatch(ID_PATTERN, "launch#g1")
