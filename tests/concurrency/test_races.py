"""Many threads at once against one embedded DynamoDB server: DynamoDB's conditions and
transactions alone must keep every invariant (no locks in Python, no read-then-write)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.errors import ConflictError, DomainError, TooManyRequestsError
from shared.managers import events, registrations, users, waitlist
from shared.models.domain import Registration, WaitlistEntry
from shared.models.requests import EventCreate, UserCreate
from tests.dynamodb_server import StreamPoller
from tests.invariants import check_invariants

pytestmark = pytest.mark.concurrency


def new_event(capacity: int, waitlist: bool = True) -> str:
    event_id = f"race-{uuid.uuid4().hex[:8]}"
    events.default().create(
        EventCreate(
            eventId=event_id,
            title="Race",
            date="2026-12-01",
            location="L",
            organizer="O",
            capacity=capacity,
            waitlistEnabled=waitlist,
        )
    )
    return event_id


def new_users(count: int) -> list[str]:
    ids = [f"racer-{uuid.uuid4().hex[:8]}" for _ in range(count)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda u: users.default().create(UserCreate(userId=u, name="Racer")), ids))
    return ids


def attempt(fn: Any) -> Any:
    try:
        return fn()
    except DomainError as exc:
        return exc


def as_a_client_would(fn: Any, retries: int = 3) -> Any:
    """`attempt`, retrying a 429 the way a client honouring Retry-After does."""
    for _ in range(retries):
        outcome = attempt(fn)
        if not isinstance(outcome, TooManyRequestsError):
            return outcome
    return attempt(fn)


def full_waitlist(event_id: str) -> list[dict[str, Any]]:
    entries, cursor = [], None
    while True:
        page = waitlist.default().list_for_event(event_id, 100, cursor)
        entries.extend(page.items)
        cursor = page.cursor
        if not cursor:
            return entries


def test_200_registrations_for_20_seats(live_dynamodb: Any) -> None:
    # Given an event with 20 seats and 200 people pressing "register" at the same moment (and
    # pressing it again on a 429, as Retry-After tells them: joins take dense tickets one at a time)
    event_id = new_event(capacity=20)
    people = new_users(200)

    with ThreadPoolExecutor(32) as pool:
        outcomes = dict(
            zip(
                people,
                pool.map(
                    lambda u: as_a_client_would(lambda: registrations.default().register_user(event_id, u)), people
                ),
            )
        )

    # Then exactly 20 are confirmed and 180 wait at positions 1..180, in the order they were told
    failures = [o for o in outcomes.values() if isinstance(o, Exception)]
    assert failures == []
    confirmed = [u for u, o in outcomes.items() if isinstance(o, Registration)]
    waiting = {u: o.position for u, o in outcomes.items() if isinstance(o, WaitlistEntry)}
    assert len(confirmed) == 20
    assert sorted(waiting.values()) == list(range(1, 181))
    listed = full_waitlist(event_id)
    assert [entry["position"] for entry in listed] == list(range(1, 181))
    assert {entry["userId"]: entry["position"] for entry in listed} == waiting
    state = check_invariants(live_dynamodb, event_id, quiet=True)
    assert sorted(r["userId"] for r in state["confirmed"]) == sorted(confirmed)


def test_the_same_user_twenty_times_at_once(live_dynamodb: Any) -> None:
    event_id = new_event(capacity=5)
    [person] = new_users(1)

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(
            pool.map(lambda _: attempt(lambda: registrations.default().register_user(event_id, person)), range(20))
        )

    assert sum(isinstance(o, Registration) for o in outcomes) == 1
    assert sum(isinstance(o, ConflictError) for o in outcomes) == 19
    state = check_invariants(live_dynamodb, event_id, quiet=True)
    assert [r["userId"] for r in state["confirmed"]] == [person]


def test_the_same_user_racing_onto_a_full_event(live_dynamodb: Any) -> None:
    event_id = new_event(capacity=1)
    holder, person = new_users(2)
    registrations.default().register_user(event_id, holder)

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(
            pool.map(lambda _: attempt(lambda: registrations.default().register_user(event_id, person)), range(20))
        )

    assert sum(isinstance(o, WaitlistEntry) for o in outcomes) == 1
    assert sum(isinstance(o, ConflictError) for o in outcomes) == 19
    state = check_invariants(live_dynamodb, event_id)
    assert [w["userId"] for w in state["waitlist"]] == [person]


def test_unregistrations_racing_registrations_with_stream_promotion(
    live_dynamodb: Any, stream_poller: StreamPoller
) -> None:
    # Given 20 confirmed and 30 waiting
    event_id = new_event(capacity=20)
    holders, waiters, newcomers = new_users(20), new_users(30), new_users(20)
    for person in holders + waiters:
        registrations.default().register_user(event_id, person)
    initial_order = [w["userId"] for w in full_waitlist(event_id)]
    assert initial_order == waiters

    # When 15 holders leave while 20 newcomers register, and the stream promotes meanwhile
    leaving = holders[:15]
    jobs = [("leave", u) for u in leaving] + [("join", u) for u in newcomers]
    jobs = [jobs[i] for i in sorted(range(len(jobs)), key=lambda i: (i * 7919) % len(jobs))]

    def run(job: tuple[str, str]) -> Any:
        kind, person = job
        manager = registrations.default()
        if kind == "leave":
            return attempt(lambda: manager.unregister_user(event_id, person))
        return attempt(lambda: manager.register_user(event_id, person))

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(run, jobs))
    stream_poller.drain()

    # Then, quiet: full, FIFO kept, everyone exactly once
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert all(isinstance(o, WaitlistEntry) for (kind, _), o in zip(jobs, outcomes) if kind == "join")
    state = check_invariants(live_dynamodb, event_id, quiet=True)
    confirmed = {r["userId"] for r in state["confirmed"]}
    still_waiting = [w["userId"] for w in state["waitlist"]]
    assert len(confirmed) == 20
    assert confirmed == set(holders[15:]) | set(waiters[:15])
    assert still_waiting[:15] == waiters[15:]
    assert set(still_waiting[15:]) == set(newcomers)
    assert len(confirmed) + len(still_waiting) == 20 + 30 + 20 - 15
    promotions = [
        r
        for r in stream_poller.records
        if r["eventName"] == "MODIFY" and r["dynamodb"]["NewImage"]["status"]["S"] == "confirmed"
    ]
    promoted_tickets = [int(r["dynamodb"]["OldImage"]["ticket"]["N"]) for r in promotions]
    assert promoted_tickets == sorted(promoted_tickets), "promoted out of FIFO order"
    assert max(promoted_tickets) < min(w["position"] for w in state["waitlist"])
