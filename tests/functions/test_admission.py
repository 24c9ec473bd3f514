"""A hot event's admission (shared/managers/admission.py, shared/repositories/admission.py), one
request at a time on moto: each decision a lone registration would get, in arrival order, with
the event's counters moved in the same transaction; a withdrawn, stale or crashed request leaves
nothing behind. (Many at once, with transactions that really overlap: tests/concurrency/test_hot_event.py.)"""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.config import get_settings
from shared.errors import TooManyRequestsError
from shared.managers import admission
from shared.repositories import admission as requests
from shared.repositories.admission import AdmissionRepository
from shared.repositories.dynamo import get_client, serialize
from tests.builders import ApiClient
from tests.helpers import admission_items, assert_error, make_event, make_users, register, uid
from tests.invariants import check_invariants


def hot(api: ApiClient, **fields: Any) -> str:
    """An event that this process has just seen busy: registrations go to admission."""
    event_id = make_event(api, **fields)["eventId"]
    admission.mark_hot(event_id)
    return event_id


def test_a_hot_events_registrations_get_the_answers_a_lone_registration_would(api: ApiClient) -> None:
    # Given a hot event with 2 seats and a waitlist
    event_id = hot(api, capacity=2, waitlistEnabled=True)
    people = make_users(api, 4)

    answers = [register(api, event_id, person) for person in people]

    # Then two seats, then the queue in order: the same bodies as without admission
    assert [a.status for a in answers] == [201, 201, 201, 201]
    assert [a.body["status"] for a in answers] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert set(answers[0].body) == {"userId", "eventId", "status", "registeredAt"}
    assert [a.body.get("position") for a in answers[2:]] == [1, 2]
    assert set(answers[2].body) == {"userId", "eventId", "status", "position", "addedAt"}
    event = api.get(f"/events/{event_id}").body
    assert (event["registeredCount"], event["waitlistCount"]) == (2, 2)
    check_invariants(get_client(), event_id)
    # and nothing of the admission is left but the released lease
    assert [(item["position"], "holder" in item) for item in admission_items(event_id)] == [(0, False)]


def test_full_closed_missing_and_duplicate_requests_are_refused_as_usual(api: ApiClient) -> None:
    event_id = hot(api, capacity=1)
    first, second = make_users(api, 2)
    assert register(api, event_id, first).status == 201

    assert_error(register(api, event_id, second), 409, "Event is full")
    assert_error(register(api, event_id, first), 409, "already registered")
    assert_error(register(api, event_id, uid("nobody")), 404, "not found")
    missing = uid("missing")
    admission.mark_hot(missing)
    assert_error(register(api, missing, second), 404, f"Event {missing} not found")

    closed = hot(api, capacity=5)
    assert api.put(f"/events/{closed}", {"status": "cancelled"}).status == 200
    assert_error(register(api, closed, second), 409, "not open for registration (status: cancelled)")

    waiting = hot(api, capacity=1, waitlistEnabled=True)
    assert register(api, waiting, first).status == 201
    assert register(api, waiting, second).status == 201
    assert_error(register(api, waiting, second), 409, "already on the waitlist")
    for event in (event_id, closed, waiting):
        check_invariants(get_client(), event)
        assert [item["position"] for item in admission_items(event)] in ([], [0])  # at most the lease


def test_a_sold_out_hot_event_answers_full_from_one_read(api: ApiClient, calls: list[str]) -> None:
    # Given a hot event whose seats are gone and that has no waitlist
    event_id = hot(api, capacity=1)
    holder, latecomer = make_users(api, 2)
    assert register(api, event_id, holder).status == 201
    calls.clear()

    # Then a latecomer hears "full" from one read: no request written, nothing for the leader
    assert_error(register(api, event_id, latecomer), 409, "Event is full")
    assert calls == ["BatchGetItem"]


def test_the_leader_decides_everyone_waiting_in_arrival_order(api: ApiClient) -> None:
    # Given five requests written by other Lambdas that are still waiting for a leader
    event_id = hot(api, capacity=2, waitlistEnabled=True)
    others = make_users(api, 5)
    repository = AdmissionRepository()
    stamps = [repository.request(event_id, person) for person in others]
    [last] = make_users(api, 1)

    # When one more registration arrives and takes the lease
    answer = register(api, event_id, last)

    # Then all six are decided in the order they arrived: two seats, then tickets 1..4
    assert answer.status == 201 and answer.body["position"] == 4
    decisions = [repository.decision(event_id, stamp) for stamp in stamps]
    assert [d["decision"] for d in decisions] == ["confirmed", "confirmed", "waitlisted", "waitlisted", "waitlisted"]  # type: ignore[index]
    assert [d.get("queuePosition") for d in decisions[2:]] == [1, 2, 3]  # type: ignore[union-attr]
    listed = api.get(f"/events/{event_id}/waitlist").body
    assert [entry["userId"] for entry in listed] == [*others[2:], last]
    check_invariants(get_client(), event_id)


def test_a_request_nobody_decides_in_time_is_withdrawn_and_leaves_nothing(api: ApiClient) -> None:
    # Given a hot event whose lease another (live) leader holds, deciding nothing
    event_id = hot(api, capacity=5)
    [person] = make_users(api, 1)
    repository = AdmissionRepository()
    assert repository.lease(event_id, "someone-else", 60)

    # When the request's deadline passes
    with pytest.raises(TooManyRequestsError):
        admission.default().register(event_id, person, deadline=time.monotonic() + 0.3)

    # Then it is gone, and nothing was registered
    assert [item["position"] for item in admission_items(event_id)] == [0]
    assert api.get(f"/events/{event_id}").body["registeredCount"] == 0
    check_invariants(get_client(), event_id)


def test_a_crashed_leaders_lease_runs_out_and_the_next_request_leads(api: ApiClient) -> None:
    event_id = hot(api, capacity=5)
    [person] = make_users(api, 1)
    repository = AdmissionRepository()
    assert repository.lease(event_id, "crashed", -1)  # ran out a millisecond ago

    assert register(api, event_id, person).status == 201
    check_invariants(get_client(), event_id)


def test_a_stale_request_is_refused_undecided(api: ApiClient) -> None:
    # Given a request item left from long ago (its requester gave up without withdrawing it)
    event_id = hot(api, capacity=5)
    stale, fresh = make_users(api, 2)
    old = int(time.time() * 1000) - int(requests.STALE_AFTER * 1000) - 1000
    get_client().put_item(
        TableName=get_settings().waitlist_table,
        Item=serialize(
            {
                "eventId": requests.partition(event_id),
                "position": 5,
                "requester": stale,
                "requestedAt": old,
                "expiresAt": 1,
            }
        ),
    )

    assert register(api, event_id, fresh).status == 201

    assert AdmissionRepository().decision(event_id, 5)["decision"] == requests.EXPIRED  # type: ignore[index]
    assert api.get(f"/events/{event_id}").body["registeredCount"] == 1
    check_invariants(get_client(), event_id)


def test_a_batch_on_a_changed_event_or_a_withdrawn_request_commits_nothing(api: ApiClient) -> None:
    event_id = make_event(api, capacity=3, waitlistEnabled=True)["eventId"]
    people = make_users(api, 4)
    repository = AdmissionRepository()
    stamps = [repository.request(event_id, person) for person in people[:3]]
    pending = repository.pending(event_id, 10)
    state = repository.event(event_id)

    # The event changes after the leader read it: nothing is decided, the leader reads again
    assert register(api, event_id, people[3]).status == 201
    batch = repository.decide(event_id, state, pending, "2026-12-02T00:00:00+00:00")
    assert batch.event_changed and not batch.decided
    assert all("decision" not in repository.decision(event_id, s) for s in stamps)  # type: ignore[operator]

    # A requester withdraws meanwhile: nothing is decided, that request is dropped
    assert repository.withdraw(event_id, stamps[0])
    batch = repository.decide(event_id, repository.event(event_id), pending, "2026-12-02T00:00:00+00:00")
    assert batch.withdrawn == {stamps[0]} and not batch.decided

    # Read again, the others are decided: the two seats left
    batch = repository.decide(
        event_id, repository.event(event_id), repository.pending(event_id, 10), "2026-12-02T00:00:00+00:00"
    )
    assert set(batch.decided) == set(stamps[1:])
    assert api.get(f"/events/{event_id}").body["registeredCount"] == 3
    check_invariants(get_client(), event_id)


def test_the_same_user_twice_in_one_batch_is_decided_once(api: ApiClient) -> None:
    event_id = hot(api, capacity=5)
    [person] = make_users(api, 1)
    repository = AdmissionRepository()
    earlier = repository.request(event_id, person)

    answer = register(api, event_id, person)

    assert repository.decision(event_id, earlier)["decision"] == "confirmed"  # type: ignore[index]
    assert_error(answer, 409, "already registered")
    assert api.get(f"/events/{event_id}").body["registeredCount"] == 1
    check_invariants(get_client(), event_id)


def test_requests_of_a_deleted_event_are_told_it_is_gone(api: ApiClient) -> None:
    event_id = hot(api, capacity=5)
    [person] = make_users(api, 1)
    repository = AdmissionRepository()
    stamp = repository.request(event_id, person)
    assert api.delete(f"/events/{event_id}").status in (200, 202, 204)

    repository.decide(
        event_id, repository.event(event_id), repository.pending(event_id, 10), "2026-12-02T00:00:00+00:00"
    )

    assert repository.decision(event_id, stamp)["decision"] == requests.GONE  # type: ignore[index]
