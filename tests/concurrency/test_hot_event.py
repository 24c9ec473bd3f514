"""A hot event over HTTP with transactions that really overlap (the embedded server's AWS limits
mode holds each transaction's items for a while; one that meets another is cancelled, as DynamoDB
does): registrations must all be answered — seats, waitlist in arrival order, or full — never
overbooked, never a 5xx, through the admission of shared/managers/admission.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.errors import DomainError, EventFullError
from shared.managers import admission, registrations
from shared.models.domain import Registration, WaitlistEntry
from tests.concurrency.test_races import attempt, full_waitlist, new_event, new_users
from tests.invariants import check_invariants

pytestmark = [pytest.mark.concurrency, pytest.mark.aws_limits(transaction_ms=30)]


def burst(event_id: str, people: list[str], threads: int = 48) -> dict[str, Any]:
    with ThreadPoolExecutor(threads) as pool:
        return dict(
            zip(people, pool.map(lambda u: attempt(lambda: registrations.default().register_user(event_id, u)), people))
        )


@pytest.mark.parametrize("waitlist", [True, False])
def test_a_burst_on_one_event_is_answered_without_giving_up(live_dynamodb: Any, waitlist: bool) -> None:
    # Given 20 seats and 160 people pressing "register" at once, transactions holding the event 30 ms
    event_id = new_event(capacity=20, waitlist=waitlist)
    people = new_users(160)

    outcomes = burst(event_id, people)

    # Then every request has its answer: 20 seats, the rest waiting in order (or told "full")
    unexpected = [o for o in outcomes.values() if isinstance(o, DomainError) and not isinstance(o, EventFullError)]
    assert unexpected == []
    confirmed = sorted(u for u, o in outcomes.items() if isinstance(o, Registration))
    assert len(confirmed) == 20
    waiting = {u: o.position for u, o in outcomes.items() if isinstance(o, WaitlistEntry)}
    if waitlist:
        assert sorted(waiting.values()) == list(range(1, 141))
        listed = full_waitlist(event_id)
        assert {entry["userId"]: entry["position"] for entry in listed} == waiting
    else:
        assert waiting == {}
        assert sum(isinstance(o, EventFullError) for o in outcomes.values()) == 140
    state = check_invariants(live_dynamodb, event_id, quiet=True)
    assert sorted(r["userId"] for r in state["confirmed"]) == confirmed
    # and it went through admission: the event was hot for this process
    assert admission.is_hot(event_id)
