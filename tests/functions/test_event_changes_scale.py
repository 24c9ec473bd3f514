"""The sizes issue #10 names, on moto: a capacity raise of 2,500 with 2,500 waiting, and the deletion
of an event with 30,000 children. The request answers in the same few round trips as for a small
event; the background, fed with the real stream records, finishes the work, in order, and never
touches the event re-created under the same id. Children are seeded straight into the tables
(BatchWriteItem): the API would take minutes to queue 30,000 people."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.repositories.dynamo import get_client
from tests.builders import ApiClient
from tests.helpers import (
    DRAINED,
    assert_a_replay_spares_the_event_created_again,
    assert_error,
    crash_after_transactions,
    delivered_event_changes,
    invoke_event_changes,
    make_event,
    seed_children,
    uid,
)
from tests.invariants import check_invariants, snapshot

pytestmark = [pytest.mark.scale, pytest.mark.usefixtures("fast_transactions")]


def test_a_capacity_raise_of_2500_promotes_all_2500_waiting_in_order(
    api: ApiClient, streams: Any, calls: list[str]
) -> None:
    # Given a full event of 100 seats with 2,500 people waiting
    event_id = make_event(api, capacity=100, waitlistEnabled=True)["eventId"]
    holders, waiters = seed_children(event_id, confirmed=100, waiting=2500, prefix=uid("u"))
    calls.clear()

    # When the capacity rises by 2,500: one round trip
    response = api.put(f"/events/{event_id}", {"capacity": 2600})
    assert response.status == 200 and calls == ["UpdateItem"]

    # Then the background promotes everyone, in queue order
    started = time.monotonic()
    assert invoke_event_changes(delivered_event_changes(streams)) == DRAINED
    print(f"\n2,500 promotions in the background: {time.monotonic() - started:.1f} s on moto")
    state = snapshot(get_client(), event_id)
    confirmed = [r["userId"] for r in state["confirmed"]]
    assert confirmed == holders + waiters
    assert state["waitlist"] == [] and state["markers"] == []
    check_invariants(get_client(), event_id, quiet=True)


def test_deleting_an_event_with_30000_children_answers_at_once_and_the_background_finishes(
    api: ApiClient, streams: Any, calls: list[str]
) -> None:
    # Given an event with 20,000 confirmed registrations and 5,000 people waiting (30,000 items)
    event_id = make_event(api, capacity=20_000, waitlistEnabled=True)["eventId"]
    started = time.monotonic()
    seed_children(event_id, confirmed=20_000, waiting=5_000, prefix=uid("u"))
    print(f"\nseeding 30,000 children: {time.monotonic() - started:.1f} s")
    calls.clear()

    # When it is deleted: the answer comes after at most three round trips
    response = api.delete(f"/events/{event_id}")
    assert response.status == 200
    assert len(calls) <= 3 and calls == ["Query", "UpdateItem"], calls
    assert_error(api.get(f"/events/{event_id}"), 404)

    # Then the background, crashing once half-way and delivered again, removes everything
    records = delivered_event_changes(streams)
    started = time.monotonic()
    with crash_after_transactions(100):
        assert invoke_event_changes(records)["batchItemFailures"]
    assert invoke_event_changes(records) == DRAINED
    print(f"removing 30,000 children in the background: {time.monotonic() - started:.1f} s on moto")
    state = snapshot(get_client(), event_id)
    assert state == {"event": None, "confirmed": [], "markers": [], "waitlist": []}

    # And the id is free; a replay of the old record never touches the event created again
    assert_a_replay_spares_the_event_created_again(api, event_id, records)
