"""AdmissionManager: a hot event's registrations, decided together (shared/repositories/admission.py).

A registration comes here when its own transaction on the event kept being cancelled by others
(the event is hot), or when this process saw that happen for the event moments ago. It writes its
request, then waits for the decision: reading its own request item, and whenever nobody holds the
event's lease, taking it and deciding the oldest requests itself, a transaction at a time. With its
deadline past and its request still undecided, it withdraws it (nothing happened: 429).

Once its request is written, a requester answers only what it has read: a busy or failing call
while it waits (throttled, DynamoDB's 5xx, unreachable) is tried again at the next poll, never
answered as a 429/503 that would leave the request behind to be decided after the client was told
to retry."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from shared import retry
from shared.clock import utc_now
from shared.errors import EventFullError, NotFoundError, RetryLaterError, TooManyRequestsError
from shared.managers.capacity import CapacityManager
from shared.models.domain import Registration, WaitlistEntry
from shared.models.fields import OPEN_STATUSES
from shared.repositories import admission, transactions
from shared.repositories.admission import AdmissionRepository
from shared.repositories.keys import CONFIRMED, WAITLISTED, is_live

# How long this process sends an event's registrations straight to admission after meeting it busy
# (extended by each one that goes there). Long, because every registration that tries its own
# transaction first touches the event item, and so may cancel the leader's transaction: at 1,000
# registrations/s over ~1,000 warm Lambdas, each tries its own once per HOT_FOR at most.
HOT_FOR = 30.0
# A leader's lease, renewed each half-lease while it leads: one that crashed holds it this long at most.
LEASE_SECONDS = 2.0
# How long a leader goes on deciding others' requests once its own is decided.
LEAD_AFTER_OWN = 1.0
# s between two reads of one's own request: jittered, growing by half each time up to POLL_MAX (a
# long wait means a long queue, read less often). A try for the lease at the LEASE_FROM-th read
# (~0.14 s in: a working leader would have decided the request by then) and every LEASE_EVERY-th
# after: each try is a write on one item, so requests decided promptly never write it.
POLL = 0.05
POLL_MAX = 0.4
LEASE_FROM = 2
LEASE_EVERY = 4
# Requests read per batch: more than one transaction holds, so that withdrawn or refused ones
# still leave a full batch.
READ_AHEAD = 40
# s past its deadline a requester goes on trying to withdraw (or read) its request while DynamoDB
# refuses both, inside the 10 s function timeout (the deadline is 8 s).
GRACE = 1.0
GIVE_UP = "Too many concurrent registrations for this event, please retry"

T = TypeVar("T")


@cache
def _hot_until() -> dict[str, float]:
    """Per process: until when each event met busy is sent straight to admission."""
    return {}


def is_hot(event_id: str) -> bool:
    return _hot_until().get(event_id, 0.0) > time.monotonic()


def mark_hot(event_id: str) -> None:
    _hot_until()[event_id] = time.monotonic() + HOT_FOR


def reset() -> None:
    """Forgets which events were hot (as a fresh process would)."""
    _hot_until().clear()


class AdmissionManager:
    def __init__(self, repository: AdmissionRepository) -> None:
        self._repository = repository

    def register(self, event_id: str, user_id: str, deadline: float) -> Registration | WaitlistEntry:
        """Requests a registration and waits for its decision until `deadline` (time.monotonic()).
        What one read can answer is answered from it, without a request: the event or the user
        missing, the user already registered or waiting, the event closed, or full with no
        waitlist (a sold-out hot event's latecomers cost one read each)."""
        mark_hot(event_id)  # for as long as registrations come here
        self._refuse_from_a_read(event_id, user_id)
        key = self._repository.request(event_id, user_id)
        holder = uuid.uuid4().hex  # this request's, should it lead
        polls = 0
        while True:
            unread: dict[str, Any] | None = {}  # busy: as if undecided, read again at the next poll
            found = _unless_busy(lambda: self._repository.decision(event_id, key), unread)
            if found is None:
                raise NotFoundError(f"Event {event_id} not found")  # removed with its event
            if "decision" in found:
                return self._answer(event_id, user_id, key, found)
            now = time.monotonic()
            if now >= deadline:
                withdrawn = _unless_busy(lambda: self._repository.withdraw(event_id, key), None)
                if withdrawn or (withdrawn is None and now >= deadline + GRACE):
                    raise TooManyRequestsError(GIVE_UP)
                if withdrawn is None:
                    time.sleep(POLL)
                continue  # decided meanwhile (read it), or busy (try again)
            if (
                polls >= LEASE_FROM
                and (polls - LEASE_FROM) % LEASE_EVERY == 0
                and _unless_busy(lambda: self._repository.lease(event_id, holder, LEASE_SECONDS), False)
            ):
                self._lead(event_id, holder, key, deadline)
                continue
            polls += 1
            time.sleep(random.uniform(0.5, 1.0) * min(POLL_MAX, POLL * 1.5**polls))

    def _lead(self, event_id: str, holder: str, own: int, deadline: float) -> None:
        """Decides batches of the oldest requests while any wait, until shortly after `own` is
        decided (or the deadline); then hands the lease back. After a batch commits, the next one
        starts from the counters it left (its condition still checks them); after anything else,
        from a fresh read. The lease is renewed each half-lease: a leader that stalled past it
        stops, so two never decide at once for long (and if they do, each transaction's
        conditions still decide every request once)."""
        own_decided_at: float | None = None
        renewed = time.monotonic()
        state: admission.EventState | None = None
        try:
            while time.monotonic() < deadline:
                try:
                    requests = self._repository.pending(event_id, READ_AHEAD)
                    if own_decided_at is None and all(r.stamp != own for r in requests):
                        own_decided_at = time.monotonic()
                    if not requests or (own_decided_at and time.monotonic() - own_decided_at > LEAD_AFTER_OWN):
                        return
                    state = self._decide(event_id, state or self._repository.event(event_id), requests)
                except RetryLaterError:
                    state = None
                    retry.backoff(1)  # busy or failing past a call's retries: read again and go on
                if time.monotonic() - renewed > LEASE_SECONDS / 2:
                    if not _unless_busy(lambda: self._repository.lease(event_id, holder, LEASE_SECONDS), False):
                        return  # someone else leads now (or the lease could not be renewed: stop)
                    renewed = time.monotonic()
        finally:
            _unless_busy(lambda: self._repository.release(event_id, holder), None)  # else it expires

    def _decide(
        self, event_id: str, state: admission.EventState, requests: list[admission.Request]
    ) -> admission.EventState | None:
        """One batch; returns the event's state after it, or None when it must be read again."""
        batch = self._repository.decide(event_id, state, requests, utc_now())
        for stamp, (decision, details) in batch.refusals.items():
            self._repository.refuse(event_id, stamp, decision, **details)
        return None if batch.state_changed else batch.after()

    def _refuse_from_a_read(self, event_id: str, user_id: str) -> None:
        event, user_exists, registration = self._repository.look(event_id, user_id)
        if not is_live(event):
            raise NotFoundError(f"Event {event_id} not found")
        if not user_exists:
            raise NotFoundError(f"User {user_id} not found")
        if registration is not None:
            raise transactions.already(event_id, user_id, registration.get("status"))
        seen = transactions.counters(event)  # type: ignore[arg-type]
        if seen.status not in OPEN_STATUSES:
            raise transactions.not_open(event_id, seen.status)
        if not CapacityManager().check_capacity(seen).open_to_newcomer and not seen.waitlistEnabled:
            raise EventFullError()

    def _answer(self, event_id: str, user_id: str, key: int, found: dict[str, object]) -> Registration | WaitlistEntry:
        _unless_busy(lambda: self._repository.forget(event_id, key), None)  # else TTL removes it
        decision = found["decision"]
        at = str(found.get("at", ""))
        if decision == CONFIRMED:
            return Registration(eventId=event_id, userId=user_id, registeredAt=at)
        if decision == WAITLISTED:
            return WaitlistEntry(event_id, user_id, int(found["ticket"]), at, position=int(found["queuePosition"]))  # type: ignore[call-overload]
        if decision == admission.FULL:
            raise EventFullError()
        if decision == admission.CLOSED:
            raise transactions.not_open(event_id, str(found.get("eventStatus")))
        if decision == admission.GONE:
            raise NotFoundError(f"Event {event_id} not found")
        if decision == admission.ALREADY:
            raise transactions.already(event_id, user_id, str(found.get("existing")))
        raise TooManyRequestsError(GIVE_UP)


def _unless_busy(call: Callable[[], T], otherwise: T) -> T:
    """`call()`, or `otherwise` when DynamoDB was busy or failing past the call's retries."""
    try:
        return call()
    except RetryLaterError:
        return otherwise


@cache
def default() -> AdmissionManager:
    return AdmissionManager(AdmissionRepository())
