"""Idempotency-Key on POST /events/{eventId}/registrations, POST /users and POST /events: a retry
with the same key and body replays the first answer whatever happened since; another body is a
409; concurrent duplicates never both run; no key, no idempotency table call."""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.api import created
from shared.errors import ConflictError, DomainError, RetryLaterError, ServiceUnavailableError, TooManyRequestsError
from shared.idempotency import EXPIRES_AFTER_SECONDS, HEADER, REPLAYED_HEADER, IdempotentRequest, run_once
from shared.managers import events, registrations, users
from shared.models.requests import EventCreate, UserCreate
from shared.repositories.dynamo import get_client, pages
from tests.builders import ApiClient, LambdaContext
from tests.helpers import delivered_event_changes, invoke_event_changes, make_event, make_users, register, uid
from tests.invariants import check_invariants

TABLE = os.environ["IDEMPOTENCY_TABLE"]


def keyed(key: str) -> dict[str, dict[str, str]]:
    return {"headers": {HEADER: key}}


def records(client: Any) -> list[dict[str, Any]]:
    return [item for page in pages(client, "scan", TableName=TABLE, ConsistentRead=True) for item in page["Items"]]


def count(client: Any, table: str) -> int:
    return sum(int(page["Count"]) for page in pages(client, "scan", TableName=table, Select="COUNT"))


class TestReplay:
    def test_replay_after_unregistering_returns_the_first_response(self, api: ApiClient) -> None:
        # Given a registration made with a key
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        first = api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("reg-1"))
        assert first.status == 201 and first.body["status"] == "confirmed"
        # When the user unregisters, then the client retries the original request
        assert api.delete(f"/events/{event_id}/registrations/{user}").status == 200
        again = api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("reg-1"))
        # Then it gets the first answer again, and nothing ran a second time
        assert (again.status, again.body) == (first.status, first.body)
        assert again.headers[REPLAYED_HEADER.lower()] == "true"
        assert REPLAYED_HEADER.lower() not in first.headers
        assert api.get(f"/events/{event_id}/registrations").body == []
        state = check_invariants(get_client(), event_id)
        assert state["event"]["registeredCount"] == 0

    def test_replay_of_a_waitlisted_answer_keeps_its_position(self, api: ApiClient, streams: Any) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter = make_users(api, 2)
        register(api, event_id, holder)
        first = api.post(f"/events/{event_id}/registrations", {"userId": waiter}, **keyed("wait-1"))
        assert first.body["status"] == "waitlisted" and first.body["position"] == 1
        # The waiter is promoted meanwhile (capacity raised)
        assert api.put(f"/events/{event_id}", {"capacity": 2}).status == 200
        assert invoke_event_changes(delivered_event_changes(streams)) == {"batchItemFailures": []}
        assert [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body] == [holder, waiter]

        again = api.post(f"/events/{event_id}/registrations", {"userId": waiter}, **keyed("wait-1"))

        assert (again.status, again.body) == (201, first.body)
        check_invariants(get_client(), event_id, quiet=True)

    def test_body_spacing_and_key_order_do_not_matter(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        first = api.post(f"/events/{event_id}/registrations", raw_body=f'{{"userId":"{user}"}}', **keyed("k"))
        again = api.post(f"/events/{event_id}/registrations", raw_body=f'{{ "userId" : "{user}" }}', **keyed("k"))
        assert first.status == again.status == 201 and again.body == first.body

    def test_post_users_replays_the_generated_id_and_creates_one_user(self, api: ApiClient, dynamodb: Any) -> None:
        before = count(dynamodb, os.environ["USERS_TABLE"])
        first = api.post("/users", {"name": "Ada"}, **keyed("user-1"))
        again = api.post("/users", {"name": "Ada"}, **keyed("user-1"))
        assert first.status == again.status == 201
        assert again.body == first.body
        assert count(dynamodb, os.environ["USERS_TABLE"]) == before + 1

    def test_post_events_replays_the_generated_id_and_creates_one_event(self, api: ApiClient, dynamodb: Any) -> None:
        body = {"title": "Talk", "date": "2026-12-01", "location": "Hall", "organizer": "Org", "capacity": 3}
        first = api.post("/events", body, **keyed("event-1"))
        # Even after the event changed, the retry answers what the creation answered
        assert api.put(f"/events/{first.body['eventId']}", {"title": "Renamed"}).status == 200
        again = api.post("/events", body, **keyed("event-1"))
        assert first.status == again.status == 201
        assert again.body == first.body and again.body["title"] == "Talk"
        assert len(api.get("/events").body) == 1

    def test_post_events_with_an_explicit_id_replays_instead_of_409(self, api: ApiClient) -> None:
        event_id = uid("evt")
        body = {"eventId": event_id, "title": "T", "date": "2026-12-01", "location": "L", "organizer": "O"}
        first = api.post("/events", body, **keyed("event-2"))
        without_key = api.post("/events", body)
        again = api.post("/events", body, **keyed("event-2"))
        assert first.status == 201 and without_key.status == 409
        assert (again.status, again.body) == (201, first.body)

    def test_a_record_lives_one_hour_and_is_run_again_after(self, api: ApiClient, dynamodb: Any) -> None:
        event_id = make_event(api, capacity=3)["eventId"]
        [user] = make_users(api, 1)
        api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("hour"))
        [record] = records(dynamodb)
        assert record["status"]["S"] == "COMPLETED"
        assert abs(int(record["expiration"]["N"]) - (time.time() + EXPIRES_AFTER_SECONDS)) < 60
        # When the hour is over (TTL may not have removed it yet)
        dynamodb.update_item(
            TableName=TABLE,
            Key={"id": record["id"]},
            UpdateExpression="SET expiration = :past",
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
        )
        # Then the same request runs again: the user is registered already
        again = api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("hour"))
        assert again.status == 409 and "already registered" in again.body["detail"]


class TestConflicts:
    def test_same_key_with_another_body_is_409_naming_the_reason(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=3)["eventId"]
        first_user, other_user = make_users(api, 2)
        api.post(f"/events/{event_id}/registrations", {"userId": first_user}, **keyed("reused"))

        response = api.post(f"/events/{event_id}/registrations", {"userId": other_user}, **keyed("reused"))

        assert response.status == 409
        assert "Idempotency-Key" in response.body["detail"] and "different request body" in response.body["detail"]
        assert [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body] == [first_user]
        check_invariants(get_client(), event_id)

    def test_another_body_on_post_users_is_409_and_creates_nothing(self, api: ApiClient, dynamodb: Any) -> None:
        api.post("/users", {"name": "Ada"}, **keyed("user-x"))
        before = count(dynamodb, os.environ["USERS_TABLE"])
        response = api.post("/users", {"name": "Grace"}, **keyed("user-x"))
        assert response.status == 409 and "different request body" in response.body["detail"]
        assert count(dynamodb, os.environ["USERS_TABLE"]) == before

    def test_a_duplicate_while_the_first_runs_is_409_in_progress(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=3)["eventId"]
        [user] = make_users(api, 1)
        request = IdempotentRequest("POST", f"/events/{event_id}/registrations", "slow", {"userId": user})
        duplicates: list[Any] = []

        def first_request() -> Any:
            # The client gives up waiting and sends the same request again, while this one runs
            duplicates.append(api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("slow")))
            return created(registrations.default().register_user(event_id, user).to_dict())

        response = run_once(request, first_request, LambdaContext())

        [duplicate] = duplicates
        assert response.status_code == 201
        assert duplicate.status == 409 and "in progress" in duplicate.body["detail"]
        # Once the first finished, the duplicate replays it
        again = api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("slow"))
        assert again.status == 201 and again.body == json.loads(response.body or "")


class TestDefiniteErrorsAreReplayed:
    def test_event_full_stays_409_after_a_seat_frees(self, api: ApiClient, dynamodb: Any) -> None:
        # Given a first answer "409 Event is full" to a keyed registration
        event_id = make_event(api, capacity=1)["eventId"]
        holder, late = make_users(api, 2)
        register(api, event_id, holder)
        full = api.post(f"/events/{event_id}/registrations", {"userId": late}, **keyed("late"))
        assert full.status == 409 and full.body == {"detail": "Event is full"}
        [record] = records(dynamodb)
        assert record["status"]["S"] == "COMPLETED"
        # When a seat frees up and the client retries with the same key and body
        assert api.put(f"/events/{event_id}", {"capacity": 2}).status == 200
        retried = api.post(f"/events/{event_id}/registrations", {"userId": late}, **keyed("late"))
        # Then it hears the first answer again, and nothing ran
        assert (retried.status, retried.body) == (409, {"detail": "Event is full"})
        assert retried.headers[REPLAYED_HEADER.lower()] == "true"
        assert retried.headers["content-type"] == "application/json"
        assert api.get(f"/events/{event_id}/registrations").body[0]["userId"] == holder
        assert api.get(f"/events/{event_id}").body["registeredCount"] == 1

    def test_unknown_user_stays_404_after_the_user_exists(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        user_id = uid("later")
        first = api.post(f"/events/{event_id}/registrations", {"userId": user_id}, **keyed("u"))
        assert first.status == 404
        assert api.post("/users", {"userId": user_id, "name": "Later"}).status == 201
        again = api.post(f"/events/{event_id}/registrations", {"userId": user_id}, **keyed("u"))
        assert (again.status, again.body) == (404, first.body)
        assert api.get(f"/events/{event_id}").body["registeredCount"] == 0

    def test_conflict_on_post_users_is_replayed(self, api: ApiClient) -> None:
        user_id = uid("taken")
        assert api.post("/users", {"userId": user_id, "name": "First"}).status == 201
        first = api.post("/users", {"userId": user_id, "name": "Second"}, **keyed("taken"))
        assert first.status == 409
        assert api.post("/users", {"userId": user_id, "name": "Second"}, **keyed("taken")).body == first.body

    def test_same_key_with_another_body_after_a_4xx_is_409_mismatch(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        assert api.post(f"/events/{event_id}/registrations", {"userId": uid("nobody")}, **keyed("k4")).status == 404
        [user] = make_users(api, 1)
        response = api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("k4"))
        assert response.status == 409 and "different request body" in response.body["detail"]
        assert api.get(f"/events/{event_id}/registrations").body == []

    @pytest.mark.parametrize("error", [TooManyRequestsError, ServiceUnavailableError])
    def test_a_429_or_503_is_not_stored_and_its_retry_runs_again(
        self, api: ApiClient, dynamodb: Any, error: type[RetryLaterError]
    ) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        request = IdempotentRequest("POST", f"/events/{event_id}/registrations", "busy", {"userId": user})

        def busy() -> Any:
            raise error("The service is busy, please retry")

        with pytest.raises(error):
            run_once(request, busy, LambdaContext())
        assert records(dynamodb) == []
        retried = api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("busy"))
        assert retried.status == 201 and REPLAYED_HEADER.lower() not in retried.headers

    def test_an_unexpected_error_is_not_stored(self, api: ApiClient, dynamodb: Any) -> None:
        request = IdempotentRequest("POST", "/users", "boom", {"name": "Ada"})

        def crash() -> Any:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            run_once(request, crash, LambdaContext())
        assert records(dynamodb) == []

    def test_a_bad_body_with_a_key_is_400_and_stores_nothing(self, api: ApiClient, dynamodb: Any) -> None:
        # Refused before the route ran: the key is not used, a corrected body with it runs.
        event_id = make_event(api, capacity=2)["eventId"]
        response = api.post(f"/events/{event_id}/registrations", {"userId": 5}, **keyed("bad-body"))
        assert response.status == 400 and records(dynamodb) == []


class TestKeyScope:
    def test_one_key_on_two_events_registers_twice(self, api: ApiClient) -> None:
        first_event, second_event = make_event(api, capacity=2)["eventId"], make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)

        first = api.post(f"/events/{first_event}/registrations", {"userId": user}, **keyed("same"))
        second = api.post(f"/events/{second_event}/registrations", {"userId": user}, **keyed("same"))

        assert first.status == second.status == 201
        assert (first.body["eventId"], second.body["eventId"]) == (first_event, second_event)
        assert REPLAYED_HEADER.lower() not in second.headers
        assert sorted(r["eventId"] for r in api.get(f"/users/{user}/registrations").body) == sorted(
            [first_event, second_event]
        )

    def test_one_key_on_two_routes_runs_both(self, api: ApiClient, dynamodb: Any) -> None:
        user = api.post("/users", {"name": "Ada"}, **keyed("shared"))
        event = api.post(
            "/events", {"title": "T", "date": "2026-12-01", "location": "L", "organizer": "O"}, **keyed("shared")
        )
        assert user.status == event.status == 201 and "eventId" in event.body and "userId" in user.body
        assert len(records(dynamodb)) == 2

    def test_records_hold_hashes_not_keys_or_bodies(self, api: ApiClient, dynamodb: Any) -> None:
        api.post("/users", {"name": "Ada"}, **keyed("secret-key"))
        [record] = records(dynamodb)
        assert "secret-key" not in record["id"]["S"] and "secret-key" not in record["validation"]["S"]
        assert record["id"]["S"].startswith("idempotency-key#")


class TestHeader:
    @pytest.mark.parametrize(
        "key",
        [
            "",
            "x" * 201,
            "caf\u00e9",
            "tab\there",
            "nul\x00",
            "new\nline",
            "\x7f",
            "emoji-\U0001f600",
            " leading",
            "trailing ",
        ],
    )
    def test_bad_key_is_400_naming_the_header(self, api: ApiClient, dynamodb: Any, key: str) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)

        response = api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed(key))

        assert response.status == 400 and "Idempotency-Key" in response.body["detail"]
        assert records(dynamodb) == []
        assert api.get(f"/events/{event_id}").body["registeredCount"] == 0

    @pytest.mark.parametrize("key", ["a", "x" * 200, "spaced key ~!@#$%^&*()", "550e8400-e29b-41d4-a716-446655440000"])
    def test_printable_ascii_up_to_200_is_accepted(self, api: ApiClient, key: str) -> None:
        response = api.post("/users", {"name": "Ada"}, **keyed(key))
        again = api.post("/users", {"name": "Ada"}, **keyed(key))
        assert response.status == 201 and again.body == response.body

    def test_header_name_is_case_insensitive(self, api: ApiClient) -> None:
        first = api.post("/users", {"name": "Ada"}, headers={"idempotency-key": "lower"})
        again = api.post("/users", {"name": "Ada"}, headers={"IDEMPOTENCY-KEY": "lower"})
        assert again.body == first.body

    def test_preflight_allows_the_header(self, api: ApiClient) -> None:
        response = api.request(
            "OPTIONS", "/users", headers={"Origin": "https://example.com", "Access-Control-Request-Method": "POST"}
        )
        assert "Idempotency-Key" in response.headers["access-control-allow-headers"]


class TestWithoutKey:
    # Without a key a registration stays one transaction: test_registrations.py's
    # test_free_seat_confirms_in_one_round_trip counts it.

    def test_with_key_the_record_costs_a_put_and_an_update(self, api: ApiClient, calls: list[str]) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        [user] = make_users(api, 1)
        calls.clear()

        api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("counted"))
        assert calls == ["PutItem", "TransactWriteItems", "UpdateItem"]
        calls.clear()
        api.post(f"/events/{event_id}/registrations", {"userId": user}, **keyed("counted"))
        assert calls == ["PutItem"]  # the failed conditional put hands back the stored response

    def test_no_key_never_touches_the_idempotency_table(self, api: ApiClient, dynamodb: Any) -> None:
        event_id = make_event(api, capacity=1)["eventId"]
        first, second = make_users(api, 2)
        register(api, event_id, first)
        register(api, event_id, second)
        assert api.post("/users", {"name": "Ada"}).status == 201
        assert records(dynamodb) == []


@pytest.mark.concurrency
def test_concurrent_duplicates_never_both_run(live_dynamodb: Any) -> None:
    """Threads on the embedded DynamoDB server (atomic conditional writes, as in DynamoDB), calling
    the idempotency layer directly: Powertools resolvers are not thread-safe."""
    # Given an event, a user, and 12 copies of one keyed request sent at the same moment
    event_id = uid("race")
    events.default().create(
        EventCreate(eventId=event_id, title="Race", date="2026-12-01", location="L", organizer="O", capacity=5)
    )
    user_id = uid("racer")
    users.default().create(UserCreate(userId=user_id, name="Racer"))
    request = IdempotentRequest("POST", f"/events/{event_id}/registrations", "race-key", {"userId": user_id})
    executions: list[str] = []
    start = threading.Barrier(12)

    def operation() -> Any:
        executions.append(threading.current_thread().name)
        time.sleep(0.3)  # long enough for every duplicate to arrive while this one runs
        return created(registrations.default().register_user(event_id, user_id).to_dict())

    def send() -> Any:
        start.wait()
        try:
            return run_once(request, operation, LambdaContext())
        except DomainError as exc:
            return exc

    # When they all run
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(lambda _: send(), range(12)))

    # Then exactly one executed; every other copy was told it is in progress, or got its answer
    assert len(executions) == 1
    successes = [o for o in outcomes if not isinstance(o, DomainError)]
    in_progress = [o for o in outcomes if isinstance(o, ConflictError) and "in progress" in o.detail]
    assert len(successes) + len(in_progress) == 12 and in_progress
    assert len({s.body for s in successes}) == 1
    # And a retry afterwards replays the one answer
    replay = run_once(request, operation, LambdaContext())
    assert replay.status_code == 201 and replay.body == successes[0].body and len(executions) == 1
    state = check_invariants(get_client(), event_id)
    assert [r["userId"] for r in state["confirmed"]] == [user_id]
