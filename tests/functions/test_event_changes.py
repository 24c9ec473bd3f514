"""PUT and DELETE /events/{eventId} answer in a bounded number of round trips whatever the event's
size; the eventChanges function, fed with the real records of the moto Events stream, does the
rest: promotion after a capacity raise, removal of a large deleted event's children. Replays,
crashes half-way and re-created ids included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.config import get_settings
from shared.repositories import deletion, queue
from shared.repositories.dynamo import get_client
from tests.builders import ApiClient
from tests.helpers import (
    DRAINED,
    assert_a_replay_spares_the_event_created_again,
    assert_error,
    crash_after_transactions,
    delivered_event_changes,
    filter_patterns,
    invoke_event_changes,
    make_event,
    make_users,
    register,
    seed_children,
    uid,
)
from tests.invariants import check_invariants, snapshot

pytestmark = pytest.mark.usefixtures("fast_transactions")


def children(event_id: str) -> dict[str, int]:
    """How many items of the event each table still holds."""
    settings = get_settings()
    found = {}
    for table in (settings.events_table, settings.registrations_table, settings.waitlist_table):
        found[table] = sum(
            page["Count"]
            for page in _pages(
                TableName=table,
                KeyConditionExpression="eventId = :e",
                ExpressionAttributeValues={":e": {"S": event_id}},
                Select="COUNT",
                ConsistentRead=True,
            )
        )
    return found


def _pages(**params: Any) -> Iterator[dict[str, Any]]:
    from shared.repositories.dynamo import pages

    return pages(get_client(), "query", **params)


def gone(event_id: str) -> bool:
    return set(children(event_id).values()) == {0}


@pytest.fixture
def big_event(api: ApiClient) -> tuple[str, list[str], list[str]]:
    """An event too large to delete in one transaction: 150 confirmed, 50 waiting."""
    event_id = make_event(api, capacity=150, waitlistEnabled=True)["eventId"]
    holders, waiters = seed_children(event_id, confirmed=150, waiting=50, prefix=uid("u"))
    check_invariants(get_client(), event_id)
    return event_id, holders, waiters


class TestFilter:
    def test_only_deletions_and_events_with_people_waiting_are_delivered(self, api: ApiClient, streams: Any) -> None:
        quiet = make_event(api, capacity=5)["eventId"]
        api.put(f"/events/{quiet}", {"capacity": 9})  # nobody waits: nothing to promote
        waiting = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        for user in make_users(api, 2):
            register(api, waiting, user)  # the second join makes waitlistCount 1
        api.put(f"/events/{waiting}", {"capacity": 2})

        records = delivered_event_changes(streams)

        assert all(r["eventName"] == "MODIFY" for r in records)
        assert {r["dynamodb"]["Keys"]["eventId"]["S"] for r in records} == {waiting}
        assert len(filter_patterns("eventChanges")) == 2

    def test_a_change_that_raises_no_capacity_writes_nothing(
        self, api: ApiClient, streams: Any, calls: list[str]
    ) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        for user in make_users(api, 3):
            register(api, event_id, user)
        api.put(f"/events/{event_id}", {"title": "Renamed"})
        records = delivered_event_changes(streams)
        assert records  # the joins and the rename: people wait on this event
        calls.clear()

        assert invoke_event_changes(records) == DRAINED

        assert calls == []


class TestCapacityRaise:
    def test_put_is_one_round_trip_whatever_the_size(
        self, api: ApiClient, big_event: tuple[str, list[str], list[str]], calls: list[str]
    ) -> None:
        event_id, _, _ = big_event
        calls.clear()

        response = api.put(f"/events/{event_id}", {"capacity": 500})

        assert response.status == 200
        assert (response.body["registeredCount"], response.body["waitlistCount"]) == (150, 50)
        assert calls == ["UpdateItem"]

    def test_waiters_are_promoted_in_fifo_order_by_the_background(
        self, api: ApiClient, streams: Any, big_event: tuple[str, list[str], list[str]]
    ) -> None:
        # Given 50 waiting; when the capacity rises by 30 and the stream delivers the change
        event_id, holders, waiters = big_event
        assert api.put(f"/events/{event_id}", {"capacity": 180}).status == 200
        assert invoke_event_changes(delivered_event_changes(streams)) == DRAINED

        # Then the first 30 in line hold the new seats, in order, and the rest move up
        state = snapshot(get_client(), event_id)
        assert [r["userId"] for r in state["confirmed"]] == holders + waiters[:30]
        assert [w["userId"] for w in state["waitlist"]] == waiters[30:]
        check_invariants(get_client(), event_id, quiet=True)

    def test_the_change_delivered_twice_promotes_nobody_twice(
        self, api: ApiClient, streams: Any, big_event: tuple[str, list[str], list[str]]
    ) -> None:
        event_id, _, waiters = big_event
        api.put(f"/events/{event_id}", {"capacity": 160})
        records = delivered_event_changes(streams)
        assert invoke_event_changes(records) == DRAINED
        after_first = snapshot(get_client(), event_id)

        assert invoke_event_changes(records) == DRAINED

        assert snapshot(get_client(), event_id) == after_first
        assert [w["userId"] for w in after_first["waitlist"]] == waiters[10:]

    def test_a_crash_half_way_is_finished_by_the_redelivery(
        self,
        api: ApiClient,
        streams: Any,
        big_event: tuple[str, list[str], list[str]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # One person per promotion transaction here (49 otherwise), so that the crash after five
        # transactions falls half-way through the 20 seats
        monkeypatch.setattr("shared.managers.waitlist.PROMOTION_BATCH", 1)
        event_id, holders, waiters = big_event
        api.put(f"/events/{event_id}", {"capacity": 170})
        records = delivered_event_changes(streams)

        with crash_after_transactions(5):
            first = invoke_event_changes(records)
        assert first["batchItemFailures"], "the crash must be reported so Lambda retries"
        assert len(snapshot(get_client(), event_id)["confirmed"]) == 155
        check_invariants(get_client(), event_id)

        assert invoke_event_changes(records) == DRAINED
        state = snapshot(get_client(), event_id)
        assert [r["userId"] for r in state["confirmed"]] == holders + waiters[:20]
        check_invariants(get_client(), event_id, quiet=True)

    def test_removing_the_capacity_promotes_everyone(
        self, api: ApiClient, streams: Any, big_event: tuple[str, list[str], list[str]]
    ) -> None:
        event_id, _, _ = big_event
        api.put(f"/events/{event_id}", {"capacity": None})
        assert invoke_event_changes(delivered_event_changes(streams)) == DRAINED
        event = api.get(f"/events/{event_id}").body
        assert (event["registeredCount"], event["waitlistCount"]) == (200, 0)
        check_invariants(get_client(), event_id, quiet=True)


class TestDeleteSmallEvent:
    def test_goes_at_once_in_two_round_trips_and_the_id_is_free_again(self, api: ApiClient, calls: list[str]) -> None:
        event_id = make_event(api, capacity=2, waitlistEnabled=True)["eventId"]
        for user in make_users(api, 4):
            register(api, event_id, user)
        calls.clear()

        assert api.delete(f"/events/{event_id}").status == 200

        assert calls == ["Query", "TransactWriteItems"]
        assert gone(event_id)
        assert make_event(api, eventId=event_id)["registeredCount"] == 0

    def test_the_largest_event_that_fits_one_transaction_goes_at_once(self, api: ApiClient) -> None:
        # 49 waiting: the event, 49 markers and 49 entries are 99 actions
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        seed_children(event_id, confirmed=0, waiting=deletion.AT_ONCE_ROWS, prefix=uid("u"))
        assert api.delete(f"/events/{event_id}").status == 200
        assert gone(event_id)

    def test_a_registration_between_the_read_and_the_write_hands_over_to_the_background(
        self, api: ApiClient, streams: Any, calls: list[str]
    ) -> None:
        # Given a small event, and someone registering just before the deletion's transaction
        event_id = make_event(api, capacity=5)["eventId"]
        first, late = make_users(api, 2)
        register(api, event_id, first)

        def register_meanwhile(model: Any, **_: Any) -> None:
            if model.name == "TransactWriteItems" and calls.count("TransactWriteItems") == 1:
                get_client().meta.events.unregister("before-call.dynamodb.*", unique_id="meanwhile")
                assert register(api, event_id, late).status == 201

        calls.clear()
        get_client().meta.events.register("before-call.dynamodb.*", register_meanwhile, unique_id="meanwhile")
        response = api.delete(f"/events/{event_id}")
        get_client().meta.events.unregister("before-call.dynamodb.*", unique_id="meanwhile")

        # Then the refused transaction leaves everything, the event is marked deleting (3 round
        # trips of the DELETE itself), and the background removes both registrations
        assert response.status == 200
        # the DELETE's Query, its refused transaction (the registration's own transaction ran
        # inside it), then the marking
        assert calls == ["Query", "TransactWriteItems", "TransactWriteItems", "UpdateItem"]
        assert_error(api.get(f"/events/{event_id}"), 404)
        assert children(event_id)[get_settings().registrations_table] == 2
        assert invoke_event_changes(delivered_event_changes(streams)) == DRAINED
        assert gone(event_id)

    def test_one_whose_waitlist_had_leavers_goes_in_the_background_tree_and_all(
        self, api: ApiClient, streams: Any, calls: list[str]
    ) -> None:
        # Given a small event where one waiting person left (the tree of leavers counts them)
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, first, leaver, last = make_users(api, 4)
        for user in (holder, first, leaver, last):
            register(api, event_id, user)
        assert api.delete(f"/events/{event_id}/registrations/{leaver}").status == 200
        generation = snapshot(get_client(), event_id)["event"]["generation"]
        tree = queue.tree_partition(event_id, generation)
        assert children(tree)[get_settings().waitlist_table] > 0
        calls.clear()

        # When it is deleted
        assert api.delete(f"/events/{event_id}").status == 200

        # Then the at-once transaction is refused (it requires no leavers) and the event is
        # marked; the background removes the children and the tree, and a re-created event of
        # the same id starts a queue of its own
        assert calls == ["Query", "TransactWriteItems", "UpdateItem"]
        assert invoke_event_changes(delivered_event_changes(streams)) == DRAINED
        assert gone(event_id) and gone(tree)
        make_event(api, eventId=event_id, capacity=1, waitlistEnabled=True)
        again = [register(api, event_id, user).body for user in (holder, first, last)]
        assert [(r["status"], r.get("position")) for r in again] == [
            ("confirmed", None),
            ("waitlisted", 1),
            ("waitlisted", 2),
        ]
        assert [w["position"] for w in api.get(f"/users/{last}/waitlist").body] == [2]
        check_invariants(get_client(), event_id)

    def test_deleting_twice_is_404_the_second_time(self, api: ApiClient) -> None:
        event_id = make_event(api)["eventId"]
        assert api.delete(f"/events/{event_id}").status == 200
        assert_error(api.delete(f"/events/{event_id}"), 404, event_id)


class TestDeleteLargeEvent:
    def test_answers_in_two_round_trips_and_hides_everything_at_once(
        self, api: ApiClient, big_event: tuple[str, list[str], list[str]], calls: list[str]
    ) -> None:
        # Given a large event, one of whose waiters and one of whose holders are real users
        event_id, _, _ = big_event
        holder, waiter = make_users(api, 2)
        api.put(f"/events/{event_id}", {"capacity": None})
        register(api, event_id, holder)
        api.put(f"/events/{event_id}", {"capacity": 151})
        register(api, event_id, waiter)
        calls.clear()

        # When it is deleted
        response = api.delete(f"/events/{event_id}")

        # Then the answer came after a Query and the marking, nothing more
        assert response.status == 200
        assert calls == ["Query", "UpdateItem"]
        # And from now on the event is 404 and no list shows it or its registrations
        assert_error(api.get(f"/events/{event_id}"), 404)
        assert_error(api.get(f"/events/{event_id}/registrations"), 404)
        assert_error(api.get(f"/events/{event_id}/waitlist"), 404)
        assert_error(api.put(f"/events/{event_id}", {"title": "x"}), 404)
        assert_error(api.delete(f"/events/{event_id}"), 404)
        assert_error(register(api, event_id, make_users(api, 1)[0]), 404)
        assert event_id not in [e["eventId"] for e in api.get("/events").body]
        assert event_id not in [e["eventId"] for e in api.get("/events?status=active").body]
        assert api.get(f"/users/{holder}/registrations").body == []
        assert api.get(f"/users/{waiter}/waitlist").body == []
        # And its id stays taken until the background has finished
        assert_error(api.post("/events", {**_body(), "eventId": event_id}), 409, "still being deleted")

    def test_the_background_removes_every_child_then_the_event(
        self, api: ApiClient, streams: Any, big_event: tuple[str, list[str], list[str]]
    ) -> None:
        event_id, _, _ = big_event
        assert api.delete(f"/events/{event_id}").status == 200
        records = delivered_event_changes(streams)
        assert [r["dynamodb"]["NewImage"].get("deleting") for r in records][-1] == {"BOOL": True}

        assert invoke_event_changes(records) == DRAINED

        assert gone(event_id)
        assert make_event(api, eventId=event_id)["eventId"] == event_id

    def test_the_deletion_delivered_twice_ends_the_same(
        self, api: ApiClient, streams: Any, big_event: tuple[str, list[str], list[str]]
    ) -> None:
        event_id, _, _ = big_event
        api.delete(f"/events/{event_id}")
        records = delivered_event_changes(streams)
        assert invoke_event_changes(records) == DRAINED
        assert invoke_event_changes(records) == DRAINED
        assert gone(event_id)

    def test_a_crash_half_way_is_finished_by_the_redelivery(
        self, api: ApiClient, streams: Any, big_event: tuple[str, list[str], list[str]]
    ) -> None:
        event_id, _, _ = big_event
        api.delete(f"/events/{event_id}")
        records = delivered_event_changes(streams)

        with crash_after_transactions(1):
            first = invoke_event_changes(records)
        assert first["batchItemFailures"]
        left = children(event_id)
        assert left[get_settings().events_table] == 1 and 0 < sum(left.values()) < 251

        assert invoke_event_changes(records) == DRAINED
        assert gone(event_id)

    def test_a_replay_after_the_id_was_re_created_never_touches_the_new_event(
        self, api: ApiClient, streams: Any, big_event: tuple[str, list[str], list[str]]
    ) -> None:
        # Given a large event deleted in the background
        event_id, _, _ = big_event
        api.delete(f"/events/{event_id}")
        records = delivered_event_changes(streams)
        assert invoke_event_changes(records) == DRAINED
        # Then the event created again under its id is untouched by a replay of the old record
        assert_a_replay_spares_the_event_created_again(api, event_id, records)

    def test_an_old_run_resuming_after_another_finished_and_the_id_was_re_created_stops(
        self, api: ApiClient, streams: Any, big_event: tuple[str, list[str], list[str]]
    ) -> None:
        # Given a deletion whose first run pauses before its first batch, while a redelivery runs
        # to the end and the client creates the event again with a registration
        from shared.managers import event_changes

        event_id, _, _ = big_event
        api.delete(f"/events/{event_id}")
        records = delivered_event_changes(streams)
        [marked] = [r for r in records if r["dynamodb"]["NewImage"].get("deleting")]
        generation = marked["dynamodb"]["NewImage"]["generation"]["S"]
        [newcomer] = make_users(api, 1)
        interleaved: list[str] = []

        def meanwhile(model: Any, **_: Any) -> None:
            if interleaved or model.name != "TransactWriteItems":
                return
            interleaved.append(model.name)
            event_changes.default().finish_deletion(event_id, generation)
            assert make_event(api, eventId=event_id, capacity=5, title="Second")["eventId"] == event_id
            assert register(api, event_id, newcomer).status == 201

        get_client().meta.events.register("before-call.dynamodb.*", meanwhile, unique_id="interleave")
        try:
            assert invoke_event_changes(records) == DRAINED
        finally:
            get_client().meta.events.unregister("before-call.dynamodb.*", unique_id="interleave")

        # Then the re-created event and its registration are intact
        assert interleaved
        assert api.get(f"/events/{event_id}").body["title"] == "Second"
        assert [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body] == [newcomer]
        check_invariants(get_client(), event_id, quiet=True)


def _body() -> dict[str, Any]:
    return {"title": "Again", "date": "2026-12-01", "location": "Hall", "organizer": "Org"}
