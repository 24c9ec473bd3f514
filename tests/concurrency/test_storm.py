"""A storm on one event with the embedded DynamoDB in AWS limits mode: transactions really overlap
(each holds its items a few milliseconds, so concurrent ones on the event item are cancelled with
TransactionConflict, and single writes on it meet TransactionConflictException), more are
cancelled at random, and every Query page stops after 2 KB. Registrations, unregistrations,
capacity changes and reconciliations run at once while the stream promotes; then every invariant
of SPEC.md must hold."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.errors import ConflictError, DomainError, NotFoundError, RetryLaterError
from shared.managers import events, reconcile, registrations
from shared.models.requests import EventUpdate
from shared.repositories.dynamo import get_client
from tests.concurrency.test_races import new_event, new_users
from tests.dynamodb_server import StreamPoller
from tests.invariants import check_invariants

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.aws_limits(page_bytes=2048, conflict_rate=0.05, seed=10, transaction_ms=3),
]

PEOPLE = 48
ROUNDS = 6


def test_a_storm_on_one_event_keeps_every_invariant(live_dynamodb: Any, stream_poller: StreamPoller) -> None:
    # Given an event of 10 seats with a waitlist, and people each driven by one thread at a time
    event_id = new_event(capacity=10)
    people = new_users(PEOPLE)
    conflicts: list[str] = []

    def note_conflict(response: Any = None, **_: Any) -> None:
        parsed = response[1] if response else {}
        code = parsed.get("Error", {}).get("Code")
        if code == "TransactionConflictException" or any(
            r.get("Code") == "TransactionConflict" for r in parsed.get("CancellationReasons") or []
        ):
            conflicts.append(code)

    get_client().meta.events.register("needs-retry.dynamodb", note_conflict, unique_id="storm-conflicts")
    # What each person was last told: True registered, False not; None after a 429 (unknown).
    told: dict[str, bool | None] = dict.fromkeys(people, False)
    answers: dict[str, int] = {}
    lock = threading.Lock()

    def count(kind: str) -> None:
        with lock:
            answers[kind] = answers.get(kind, 0) + 1

    def person(index: int) -> None:
        chooser = random.Random(index)
        me = people[index]
        manager = registrations.default()
        for _ in range(ROUNDS):
            joining = chooser.random() < 0.6
            try:
                if joining:
                    manager.register_user(event_id, me)
                else:
                    manager.unregister_user(event_id, me)
                told[me] = joining
                count("ok")
            except ConflictError:  # already registered (never "full": the waitlist is on)
                told[me] = True
                count("409")
            except NotFoundError:  # not registered
                told[me] = False
                count("404")
            except RetryLaterError:  # 429: busy past the retries
                told[me] = None
                count("429")

    def organiser(index: int) -> None:
        chooser = random.Random(1000 + index)
        for _ in range(ROUNDS):
            try:
                if index % 2:
                    events.default().update(event_id, EventUpdate(capacity=chooser.choice([6, 10, 14, 18])))
                else:
                    reconcile.default().reconcile_event(event_id)
                count("admin ok")
            except DomainError as exc:  # 409 below the confirmed count, 429 when busy too long
                count(f"admin {type(exc).__name__}")

    # When they all act at once, with two organisers changing capacity and two reconciling
    with ThreadPoolExecutor(12) as pool:
        jobs = [pool.submit(person, i) for i in range(PEOPLE)] + [pool.submit(organiser, i) for i in range(4)]
        for job in jobs:
            job.result()
    stream_poller.drain()
    # The scheduled reconciliation catches a promotion that a capacity raise answered 429 before
    # finishing; then the stream drains what it promoted.
    reconcile.default().reconcile_event(event_id)
    stream_poller.drain()

    # Then, quiet: invariants 1-3 and 5 on the stored items
    state = check_invariants(live_dynamodb, event_id, quiet=True)
    single = conflicts.count("TransactionConflictException")
    print(
        f"\nanswers: {answers}; conflicts: {len(conflicts) - single} transactions cancelled, {single} single writes"
        f" refused; confirmed {len(state['confirmed'])}, waiting {len(state['waitlist'])}"
    )
    assert answers.get("ok", 0) > PEOPLE, answers  # the storm did get through
    assert len(conflicts) > 10, "the storm met no transaction conflict"
    # 4. FIFO: promotions took tickets in order, and everyone still waiting joined after them
    promotions = [
        int(r["dynamodb"]["OldImage"]["ticket"]["N"])
        for r in stream_poller.records
        if r["eventName"] == "MODIFY" and r["dynamodb"]["NewImage"]["status"]["S"] == "confirmed"
    ]
    assert promotions == sorted(promotions), "promoted out of FIFO order"
    if promotions and state["waitlist"]:
        assert max(promotions) < min(w["position"] for w in state["waitlist"])
    # 6. Nothing told "done" is lost: whoever last heard "registered" is confirmed or waiting, and
    #    whoever last heard "unregistered" (or 404) is neither
    present = {r["userId"] for r in state["confirmed"]} | {w["userId"] for w in state["waitlist"]}
    for user, registered in told.items():
        if registered is not None:
            assert (user in present) == registered, (user, registered)
