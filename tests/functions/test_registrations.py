"""Registrations and the waitlist, per route, in-process on moto: every status code of SPEC.md,
and the DynamoDB round trips each operation costs (counted through botocore, not timed)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import get_settings
from shared.repositories.dynamo import get_client
from tests.builders import ApiClient
from tests.helpers import delivered_event_changes, invoke_event_changes, make_event, make_users, register, uid
from tests.invariants import check_invariants


class TestRegister:
    def test_free_seat_confirms_in_one_round_trip(self, api: ApiClient, calls: list[str]) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        calls.clear()

        response = register(api, event_id, user)

        assert response.status == 201
        assert response.body["status"] == "confirmed"
        assert response.body["userId"] == user and response.body["eventId"] == event_id
        assert response.body["registeredAt"].endswith("+00:00")
        assert set(response.body) == {"userId", "eventId", "status", "registeredAt"}
        assert calls == ["TransactWriteItems"]
        event = api.get(f"/events/{event_id}").body
        assert event["registeredCount"] == 1 and event["waitlistCount"] == 0

    def test_full_event_with_waitlist_queues_in_two_round_trips_and_no_read(
        self, api: ApiClient, calls: list[str]
    ) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        first, second, third = make_users(api, 3)
        register(api, event_id, first)
        calls.clear()

        response = register(api, event_id, second)

        assert response.status == 201
        assert response.body == {
            "userId": second,
            "eventId": event_id,
            "status": "waitlisted",
            "position": 1,
            "addedAt": response.body["addedAt"],
        }
        # The seat attempt, then the join: its position is the count it was conditional on, plus one
        assert calls == ["TransactWriteItems", "TransactWriteItems"]
        assert register(api, event_id, third).body["position"] == 2

    def test_full_event_without_waitlist_is_409_event_is_full(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1)["eventId"]
        first, second = make_users(api, 2)
        register(api, event_id, first)

        response = register(api, event_id, second)

        assert response.status == 409
        assert response.body == {"detail": "Event is full"}
        check_invariants(get_client(), event_id)

    def test_unlimited_event_accepts_everyone(self, api: ApiClient) -> None:
        event_id = make_event(api)["eventId"]
        users = make_users(api, 5)
        assert all(register(api, event_id, user).body["status"] == "confirmed" for user in users)
        assert api.get(f"/events/{event_id}").body["registeredCount"] == 5

    def test_twice_is_409_whether_confirmed_or_waiting(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        confirmed, waiting = make_users(api, 2)
        register(api, event_id, confirmed)
        register(api, event_id, waiting)

        again_confirmed = register(api, event_id, confirmed)
        again_waiting = register(api, event_id, waiting)

        assert again_confirmed.status == 409 and "already registered" in again_confirmed.body["detail"]
        assert again_waiting.status == 409 and "already on the waitlist" in again_waiting.body["detail"]
        check_invariants(get_client(), event_id)

    def test_unknown_event_or_user_is_404(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=3)["eventId"]
        [user] = make_users(api, 1)

        no_event = register(api, uid("missing"), user)
        no_user = register(api, event_id, uid("ghost"))

        assert no_event.status == 404 and "Event" in no_event.body["detail"]
        assert no_user.status == 404 and "User" in no_user.body["detail"]
        check_invariants(get_client(), event_id)

    @pytest.mark.parametrize("status", ["draft", "cancelled", "completed"])
    def test_event_not_open_is_409(self, api: ApiClient, status: str) -> None:
        event_id = make_event(api, capacity=3, status=status)["eventId"]
        [user] = make_users(api, 1)

        response = register(api, event_id, user)

        assert response.status == 409
        assert status in response.body["detail"]

    def test_scheduled_event_is_open(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=3, status="scheduled")["eventId"]
        [user] = make_users(api, 1)
        assert register(api, event_id, user).status == 201

    def test_a_freed_seat_is_kept_for_the_waitlist(self, api: ApiClient) -> None:
        # Given a full event with someone waiting
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter, newcomer = make_users(api, 3)
        register(api, event_id, holder)
        register(api, event_id, waiter)
        # When the holder leaves (promotion is the stream's job, not yet run)
        assert api.delete(f"/events/{event_id}/registrations/{holder}").status == 200
        # Then a newcomer cannot take the seat ahead of the waiter
        response = register(api, event_id, newcomer)
        assert response.status == 201 and response.body["status"] == "waitlisted"
        assert response.body["position"] == 2

    def test_newcomer_without_waitlist_cannot_take_a_reserved_seat(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter, newcomer = make_users(api, 3)
        register(api, event_id, holder)
        register(api, event_id, waiter)
        api.put(f"/events/{event_id}", {"waitlistEnabled": False})
        api.delete(f"/events/{event_id}/registrations/{holder}")

        assert register(api, event_id, newcomer).body == {"detail": "Event is full"}

    @pytest.mark.parametrize(
        "body",
        [{}, {"userId": 5}, {"userId": "has space"}, {"userId": "x" * 65}, {"userId": "ok", "extra": 1}, [], "u"],
    )
    def test_bad_body_is_400(self, api: ApiClient, body: Any) -> None:
        event_id = make_event(api, capacity=3)["eventId"]
        response = api.post(f"/events/{event_id}/registrations", body)
        assert response.status == 400
        assert isinstance(response.body["detail"], str) and response.body["detail"]


class TestUnregister:
    def test_confirmed_registration_in_one_round_trip(self, api: ApiClient, calls: list[str]) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        register(api, event_id, user)
        calls.clear()

        response = api.delete(f"/events/{event_id}/registrations/{user}")

        assert response.status == 200 and "message" in response.body
        assert calls == ["TransactWriteItems"]
        assert api.get(f"/events/{event_id}").body["registeredCount"] == 0
        assert api.get(f"/events/{event_id}/registrations").body == []

    def test_waitlist_entry_and_everyone_behind_moves_up(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, first, second, third = make_users(api, 4)
        for user in (holder, first, second, third):
            register(api, event_id, user)

        response = api.delete(f"/events/{event_id}/registrations/{first}")

        assert response.status == 200
        waitlist = api.get(f"/events/{event_id}/waitlist").body
        assert [(w["userId"], w["position"]) for w in waitlist] == [(second, 1), (third, 2)]
        assert api.get(f"/users/{third}/waitlist").body[0]["position"] == 2
        check_invariants(get_client(), event_id)

    def test_neither_registered_nor_waiting_is_404(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1)["eventId"]
        [user] = make_users(api, 1)
        response = api.delete(f"/events/{event_id}/registrations/{user}")
        assert response.status == 404 and response.body["detail"]

    def test_unregistering_does_not_promote_by_itself(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter = make_users(api, 2)
        register(api, event_id, holder)
        register(api, event_id, waiter)

        api.delete(f"/events/{event_id}/registrations/{holder}")

        assert api.get(f"/events/{event_id}/registrations").body == []
        assert [w["userId"] for w in api.get(f"/events/{event_id}/waitlist").body] == [waiter]


class TestLists:
    def test_event_registrations_oldest_first_with_names(self, api: ApiClient, calls: list[str]) -> None:
        event_id = make_event(api, capacity=10)["eventId"]
        users = make_users(api, 3)
        for user in users:
            register(api, event_id, user)
        calls.clear()

        response = api.get(f"/events/{event_id}/registrations")

        assert response.status == 200
        assert [r["userId"] for r in response.body] == users
        assert [r["name"] for r in response.body] == ["Person 0", "Person 1", "Person 2"]
        assert set(response.body[0]) == {"userId", "eventId", "status", "registeredAt", "name"}
        assert calls == ["Query", "BatchGetItem"]

    def test_event_waitlist_in_order_with_names_across_pages(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        users = make_users(api, 6)
        for user in users:
            register(api, event_id, user)

        seen, token = [], None
        while True:
            path = f"/events/{event_id}/waitlist?limit=2" + (f"&nextToken={token}" if token else "")
            response = api.get(path)
            assert response.status == 200
            seen.extend(response.body)
            token = response.headers.get("x-next-token")
            if not token:
                break

        assert [(w["userId"], w["position"]) for w in seen] == [(u, n) for n, u in enumerate(users[1:], start=1)]
        assert set(seen[0]) == {"userId", "eventId", "position", "addedAt", "name"}
        assert seen[0]["name"] == "Person 1"

    def test_positions_read_a_few_tree_nodes_never_the_queue(
        self, api: ApiClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a queue of 6 where the 2nd and 5th left (the tree of leavers counts them)
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, *waiters = make_users(api, 8)
        register(api, event_id, holder)
        for waiter in waiters[:-1]:
            register(api, event_id, waiter)
        for leaver in (waiters[1], waiters[4]):
            assert api.delete(f"/events/{event_id}/registrations/{leaver}").status == 200
        client = get_client()
        read: list[tuple[str, int]] = []
        for operation in ("query", "batch_get_item", "get_item", "scan"):
            real = getattr(client, operation)

            def recorded(real: Any = real, operation: str = operation, **params: Any) -> Any:
                response = real(**params)
                count = sum(len(items) for items in response.get("Responses", {}).values())
                read.append((operation, response.get("Count", count + ("Item" in response))))
                return response

            monkeypatch.setattr(client, operation, recorded)

        # When the last one joins, and the lists are read
        joined = register(api, event_id, waiters[-1])
        token = self._token(api, event_id)
        read.clear()
        second_page = api.get(f"/events/{event_id}/waitlist?limit=2&nextToken={token}")
        page_reads, read[:] = list(read), []
        mine = api.get(f"/users/{waiters[-1]}/waitlist")

        # Then every position counts every entry still ahead, from the counters and the tree alone
        remaining = [w for w in waiters if w not in (waiters[1], waiters[4])]
        assert joined.body["position"] == 5
        assert [(w["userId"], w["position"]) for w in second_page.body] == [(remaining[3], 4), (remaining[4], 5)]
        assert mine.body[0]["position"] == 5
        # the page (2 entries), the names and event (3 items), the ≤ 32 nodes below its first ticket
        assert [operation for operation, _ in page_reads] == ["query", "batch_get_item", "batch_get_item"]
        assert page_reads[0][1] == 2 and page_reads[2][1] <= 32
        assert [operation for operation, _ in read] == ["query", "batch_get_item", "batch_get_item"]

    @staticmethod
    def _token(api: ApiClient, event_id: str) -> str:
        first = api.get(f"/events/{event_id}/waitlist?limit=3")
        assert first.status == 200
        return first.headers["x-next-token"]

    def test_unknown_event_lists_are_404(self, api: ApiClient) -> None:
        missing = uid("missing")
        assert api.get(f"/events/{missing}/registrations").status == 404
        assert api.get(f"/events/{missing}/waitlist").status == 404

    def test_user_registrations_carry_the_full_event_in_two_round_trips(self, api: ApiClient, calls: list[str]) -> None:
        events = [make_event(api, capacity=5, title=f"Talk {n}")["eventId"] for n in range(3)]
        [user] = make_users(api, 1)
        for event_id in events:
            register(api, event_id, user)
        calls.clear()

        response = api.get(f"/users/{user}/registrations")

        assert response.status == 200
        assert sorted(r["eventId"] for r in response.body) == sorted(events)
        first = response.body[0]
        assert {"title", "status", "capacity", "registeredCount", "registeredAt"} <= set(first)
        assert calls == ["Query", "BatchGetItem"]

    def test_user_waitlist_carries_event_and_live_position(self, api: ApiClient, calls: list[str]) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, ahead, user = make_users(api, 3)
        for member in (holder, ahead, user):
            register(api, event_id, member)
        api.delete(f"/events/{event_id}/registrations/{ahead}")
        calls.clear()

        response = api.get(f"/users/{user}/waitlist")

        assert response.status == 200
        [entry] = response.body
        assert entry["eventId"] == event_id and entry["position"] == 1 and entry["title"] == "Talk"
        assert "addedAt" in entry
        # the entries, their events (with their queue counters), the tree nodes below each ticket
        assert calls == ["Query", "BatchGetItem", "BatchGetItem"]

    def test_user_lists_empty_and_unknown(self, api: ApiClient, calls: list[str]) -> None:
        [user] = make_users(api, 1)
        calls.clear()
        assert api.get(f"/users/{user}/registrations").body == []
        assert api.get(f"/users/{user}/waitlist").body == []
        assert len(calls) == 4  # a query and a user lookup each
        assert api.get(f"/users/{uid('ghost')}/registrations").status == 404
        assert api.get(f"/users/{uid('ghost')}/waitlist").status == 404

    def test_registration_pages_walk_everyone_once(self, api: ApiClient) -> None:
        event_id = make_event(api)["eventId"]
        users = make_users(api, 7)
        for user in users:
            register(api, event_id, user)

        seen: list[str] = []
        token, pages = None, 0
        while True:
            path = f"/events/{event_id}/registrations?limit=3" + (f"&nextToken={token}" if token else "")
            response = api.get(path)
            seen.extend(r["userId"] for r in response.body)
            pages += 1
            token = response.headers.get("x-next-token")
            if not token:
                break
        assert seen == users and pages == 3

    def test_token_from_another_list_is_400(self, api: ApiClient) -> None:
        event_id, other = make_event(api)["eventId"], make_event(api)["eventId"]
        for user in make_users(api, 3):
            register(api, event_id, user)
            register(api, other, user)
        token = api.get(f"/events/{event_id}/registrations?limit=1").headers["x-next-token"]

        response = api.get(f"/events/{other}/registrations?nextToken={token}")

        assert response.status == 400 and "nextToken" in response.body["detail"]


class TestEventChanges:
    def test_raising_capacity_promotes_in_fifo_order(self, api: ApiClient, streams: Any) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        users = make_users(api, 4)
        for user in users:
            register(api, event_id, user)

        response = api.put(f"/events/{event_id}", {"capacity": 3})

        # The answer is the event as the write left it; the Events stream's function promotes
        assert response.status == 200
        assert response.body["registeredCount"] == 1 and response.body["waitlistCount"] == 3
        assert invoke_event_changes(delivered_event_changes(streams)) == {"batchItemFailures": []}
        confirmed = [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body]
        assert confirmed == users[:3]
        assert [(w["userId"], w["position"]) for w in api.get(f"/events/{event_id}/waitlist").body] == [(users[3], 1)]
        check_invariants(get_client(), event_id, quiet=True)

    def test_removing_capacity_promotes_everyone(self, api: ApiClient, streams: Any) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        users = make_users(api, 3)
        for user in users:
            register(api, event_id, user)

        response = api.put(f"/events/{event_id}", {"capacity": None})

        assert response.status == 200 and response.body["capacity"] is None
        assert invoke_event_changes(delivered_event_changes(streams)) == {"batchItemFailures": []}
        event = api.get(f"/events/{event_id}").body
        assert event["registeredCount"] == 3 and event["waitlistCount"] == 0
        check_invariants(get_client(), event_id, quiet=True)

    def test_lowering_capacity_below_confirmed_is_409_and_changes_nothing(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=3)["eventId"]
        for user in make_users(api, 2):
            register(api, event_id, user)

        response = api.put(f"/events/{event_id}", {"capacity": 1, "title": "New"})

        assert response.status == 409
        event = api.get(f"/events/{event_id}").body
        assert event["capacity"] == 3 and event["title"] == "Talk"
        assert api.put(f"/events/{event_id}", {"capacity": 2}).status == 200

    def test_deleting_an_event_removes_its_registrations_and_waitlist(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter = make_users(api, 2)
        register(api, event_id, holder)
        register(api, event_id, waiter)

        assert api.delete(f"/events/{event_id}").status == 200

        assert api.get(f"/users/{holder}/registrations").body == []
        assert api.get(f"/users/{waiter}/waitlist").body == []
        assert api.get(f"/events/{event_id}/registrations").status == 404
        settings = get_settings()
        for table in (settings.registrations_table, settings.waitlist_table):
            items = get_client().scan(TableName=table)["Items"]
            assert not [i for i in items if i["eventId"]["S"] == event_id]


def test_batch_reads_that_never_finish_end_in_429_not_a_hang(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    event_id = make_event(api, capacity=5)["eventId"]
    [user] = make_users(api, 1)
    register(api, event_id, user)
    client = get_client()

    def stuck(RequestItems: dict[str, Any]) -> dict[str, Any]:
        return {"Responses": {}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(client, "batch_get_item", stuck)
    monkeypatch.setattr("shared.retry.backoff", lambda attempt: None)

    response = api.get(f"/events/{event_id}/registrations")

    assert response.status == 429 and response.headers["retry-after"] == "1"
