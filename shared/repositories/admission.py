"""Admission of a hot event's registrations: requests written side by side, decided in batches.

When registrations for one event arrive faster than transactions on its item can commit (they
cancel each other: TransactionConflict), each request writes its own small item instead — in the
Waitlist table under the partition `<eventId>#admission` (`#` is never in an id), sort key its
arrival stamp, so no two requests share an item and none of them touches the event. One requester
at a time holds the partition's lease (the item at position 0, with an expiry) and decides the
oldest undecided requests together: one transaction moves the event's counters for all of them
and writes each one's registration, waitlist entry and decision, conditional on the event being
exactly as it was read. The decisions are the ones a lone registration would get (a free seat
nobody waits for, else the waitlist's next ticket, else full), in arrival order, so nothing is
overbooked, nobody skips the queue and tickets stay dense. Each requester reads its own item until
it is decided. Request items carry `requester`, not `userId`, so UserWaitlistIndex never sees
them; they expire (TTL on `expiresAt`) when nobody is left to remove them. See docs/scaling.md.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from shared.models.fields import OPEN_STATUSES
from shared.repositories import keys, queue, transactions
from shared.repositories.dynamo import Tables, batch_get, deserialize, pages, serialize, value
from shared.repositories.failures import DynamoDBError
from shared.repositories.keys import CONFIRMED, WAITLISTED, event_key, registration_key
from shared.repositories.transactions import ONE

LEASE = 0  # the lease item's sort key; requests sort after it by arrival stamp
# Actions of one batch: the event's update, then per request its decision and registration (a seat:
# 2), and for the waitlist also the entry (3): ≤ 100 actions.
TRANSACTION_ACTIONS = 100
# Tries of a batch's transaction while others on the event cancel it (then the leader reads again).
LEADER_ATTEMPTS = 5
EXPIRES_AFTER = 60  # s: a request item nobody removed goes with TTL after this
# Request items older than this are refused undecided ("expired"): their requester has given up.
STALE_AFTER = 30.0
# Decisions a request ends with besides a seat or a waitlist entry.
FULL, CLOSED, GONE, ALREADY, EXPIRED = "full", "closed", "gone", "already", "expired"


_EVENT_ATTRIBUTES = (
    "eventId, #status, #capacity, registeredCount, waitlistCount, waitlistEnabled, waitlistSeq, generation, deleting"
)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def partition(event_id: str) -> str:
    return f"{event_id}#admission"


def stamp() -> int:
    """An arrival stamp: microseconds since the epoch, times 1,000, plus a random tie-break."""
    return time.time_ns() // 1000 * 1000 + random.randrange(1000)


@dataclass(frozen=True)
class Request:
    stamp: int
    user_id: str
    requested_at: int  # epoch milliseconds


@dataclass(frozen=True)
class EventState:
    """The event as the leader read it (None: gone or being deleted)."""

    item: dict[str, Any] | None

    @property
    def live(self) -> bool:
        return keys.is_live(self.item)


class AdmissionRepository(Tables):
    def request(self, event_id: str, user_id: str) -> int:
        """Writes a request item; returns its stamp (its key)."""
        now = _now_ms()
        while True:
            key = stamp()
            try:
                self._client.put_item(
                    TableName=self._waitlist,
                    Item=serialize(
                        {
                            "eventId": partition(event_id),
                            "position": key,
                            "requester": user_id,
                            "requestedAt": now,
                            "expiresAt": now // 1000 + EXPIRES_AFTER,
                        }
                    ),
                    ConditionExpression="attribute_not_exists(#position)",
                    ExpressionAttributeNames={"#position": "position"},
                )
            except DynamoDBError as exc:
                if exc.condition_failed:
                    continue  # the same microsecond and tie-break: draw another
                raise
            return key

    def decision(self, event_id: str, key: int) -> dict[str, Any] | None:
        """The request item as it is now (its `decision` once decided); None when it is gone."""
        response = self._client.get_item(
            TableName=self._waitlist, Key=keys.waitlist_key(partition(event_id), key), ConsistentRead=True
        )
        item = response.get("Item")
        return deserialize(item) if item else None

    def withdraw(self, event_id: str, key: int) -> bool:
        """Removes a request nobody decided yet. False when it was decided (or is gone) meanwhile."""
        try:
            self._client.delete_item(
                TableName=self._waitlist,
                Key=keys.waitlist_key(partition(event_id), key),
                ConditionExpression="attribute_exists(#position) AND attribute_not_exists(decision)",
                ExpressionAttributeNames={"#position": "position"},
            )
        except DynamoDBError as exc:
            if exc.condition_failed:
                return False
            raise
        return True

    def forget(self, event_id: str, key: int) -> None:
        """Removes a request once its requester has read the decision."""
        self._client.delete_item(TableName=self._waitlist, Key=keys.waitlist_key(partition(event_id), key))

    def lease(self, event_id: str, holder: str, seconds: float) -> bool:
        """Takes (or renews) the event's lease for `seconds`. False when someone else holds it."""
        now = _now_ms()
        try:
            self._client.update_item(
                TableName=self._waitlist,
                Key=keys.waitlist_key(partition(event_id), LEASE),
                UpdateExpression="SET holder = :holder, leaseUntil = :until, expiresAt = :expires",
                ConditionExpression="attribute_not_exists(holder) OR holder = :holder OR leaseUntil < :now",
                ExpressionAttributeValues={
                    ":holder": value(holder),
                    ":until": value(now + int(seconds * 1000)),
                    ":now": value(now),
                    ":expires": value(now // 1000 + EXPIRES_AFTER),
                },
            )
        except DynamoDBError as exc:
            if exc.condition_failed:
                return False
            raise
        return True

    def release(self, event_id: str, holder: str) -> None:
        try:
            self._client.update_item(
                TableName=self._waitlist,
                Key=keys.waitlist_key(partition(event_id), LEASE),
                UpdateExpression="REMOVE holder, leaseUntil",
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": value(holder)},
            )
        except DynamoDBError as exc:
            if not exc.condition_failed:
                raise

    def pending(self, event_id: str, limit: int) -> list[Request]:
        """The oldest undecided requests, in arrival order (paged: decided items not yet removed
        by their requesters are skipped, however many)."""
        found: list[Request] = []
        for response in pages(
            self._client,
            "query",
            TableName=self._waitlist,
            KeyConditionExpression="eventId = :partition AND #position > :lease",
            FilterExpression="attribute_not_exists(decision)",
            ExpressionAttributeNames={"#position": "position"},
            ExpressionAttributeValues={":partition": value(partition(event_id)), ":lease": value(LEASE)},
            ConsistentRead=True,
        ):
            for item in response.get("Items", []):
                data = deserialize(item)
                found.append(Request(int(data["position"]), data["requester"], int(data["requestedAt"])))
                if len(found) >= limit:
                    return found
        return found

    def look(self, event_id: str, user_id: str) -> tuple[dict[str, Any] | None, bool, dict[str, Any] | None]:
        """One read (no write, so no conflict on a hot event): the event, whether the user
        exists, and the user's registration or waitlist marker for it."""
        found = batch_get(
            self._client,
            {
                self._events: [event_key(event_id)],
                self._users: [keys.user_key(user_id)],
                self._registrations: [registration_key(event_id, user_id)],
            },
            {self._users: "userId", self._registrations: "#status", self._events: _EVENT_ATTRIBUTES},
        )
        event = found[self._events][0] if found[self._events] else None
        registration = found[self._registrations][0] if found[self._registrations] else None
        return event, bool(found[self._users]), deserialize(registration) if registration else None

    def event(self, event_id: str) -> EventState:
        response = self._client.get_item(TableName=self._events, Key=event_key(event_id), ConsistentRead=True)
        return EventState(response.get("Item"))

    def refuse(self, event_id: str, key: int, decision: str, **details: Any) -> None:
        """Decides a request without a seat (its requester answers 404 / 409). Nothing when it was
        withdrawn or decided meanwhile."""
        try:
            self._client.update_item(**self._decide(event_id, key, {"decision": decision, **details}))
        except DynamoDBError as exc:
            if not exc.condition_failed:
                raise

    def decide(self, event_id: str, state: EventState, requests: list[Request], now: str) -> Batch:
        """Decides `requests` in order on the event `state`, in one transaction. Returns what was
        decided, or what stopped it: the event changed (read it again), or some requests could not
        be decided in it (refused separately by the caller, then the rest tried again)."""
        batch = Batch(self, event_id, state, now)
        for request in requests:
            if not batch.add(request):
                break
        return batch.commit()

    def _decide(self, event_id: str, key: int, decision: dict[str, Any]) -> dict[str, Any]:
        names = ", ".join(f"#{name} = :{name}" for name in decision)
        return {
            "TableName": self._waitlist,
            "Key": keys.waitlist_key(partition(event_id), key),
            "UpdateExpression": f"SET {names}",
            "ConditionExpression": "attribute_exists(#position) AND attribute_not_exists(decision)",
            "ExpressionAttributeNames": {"#position": "position", **{f"#{name}": name for name in decision}},
            "ExpressionAttributeValues": {f":{name}": value(v) for name, v in decision.items()},
        }


class Batch:
    """One transaction's worth of decisions on one reading of the event."""

    def __init__(self, repository: AdmissionRepository, event_id: str, state: EventState, now: str) -> None:
        self._repository = repository
        self._event_id = event_id
        self._state = state
        self._now = now
        self._seen = transactions.counters(state.item) if state.live else None  # type: ignore[arg-type]
        counters = self._seen
        self.registered = counters.registeredCount if counters else 0
        self.waiting = counters.waitlistCount if counters else 0
        self.seq = counters.waitlistSeq if counters else 0
        self.actions: list[dict[str, Any]] = []
        self.owners: list[Request | None] = [None]  # whose decision each action is (the event's: None)
        self.decided: dict[int, dict[str, Any]] = {}
        self.users: set[str] = set()
        self.refusals: dict[int, tuple[str, dict[str, Any]]] = {}
        self.withdrawn: set[int] = set()
        self.event_changed = False

    def add(self, request: Request) -> bool:
        """Adds `request`'s decision. False when the transaction has no room left for it."""
        if request.user_id in self.users:
            return True  # the same user twice in one transaction: the later request waits a batch
        decision, counters = self._decision(request)
        actions = self._actions(request, decision)
        if len(self.actions) + len(actions) + 1 > TRANSACTION_ACTIONS:
            return False
        self.registered, self.waiting, self.seq = counters
        self.users.add(request.user_id)
        self.actions.extend(actions)
        self.owners.extend([request] * len(actions))
        self.decided[request.stamp] = decision
        return True

    def _decision(self, request: Request) -> tuple[dict[str, Any], tuple[int, int, int]]:
        """What a lone registration would get now, and the counters (registered, waiting, last
        ticket) after it."""
        counters = self._seen
        unchanged = (self.registered, self.waiting, self.seq)
        if _now_ms() - request.requested_at > STALE_AFTER * 1000:
            return {"decision": EXPIRED}, unchanged
        if counters is None:
            return {"decision": GONE}, unchanged
        if counters.status not in OPEN_STATUSES:
            return {"decision": CLOSED, "eventStatus": counters.status}, unchanged
        seat_free = counters.capacity is None or self.registered < counters.capacity
        if seat_free and self.waiting == 0:
            return {"decision": CONFIRMED, "at": self._now}, (self.registered + 1, self.waiting, self.seq)
        if counters.waitlistEnabled and self.seq < queue.MAX_TICKET:
            ticket, position = self.seq + 1, self.waiting + 1
            decision = {"decision": WAITLISTED, "at": self._now, "ticket": ticket, "queuePosition": position}
            return decision, (self.registered, position, ticket)
        return {"decision": FULL}, unchanged

    def _actions(self, request: Request, decision: dict[str, Any]) -> list[dict[str, Any]]:
        """The request's decision, and what a lone registration's transaction would check or
        write beside the event: the user is not yet registered or waiting (so a refusal says
        "already registered" before "full", as it does without admission), and its registration
        (and waitlist entry). That the user exists was read before the request was written, and a
        user is never deleted (there is no such route), so no ConditionCheck of it is repeated here:
        a join is 3 actions, a seat 2, and a transaction decides up to 33 joins or 49 seats."""
        repository = self._repository
        actions: list[dict[str, Any]] = [{"Update": repository._decide(self._event_id, request.stamp, decision)}]
        kind = decision["decision"]
        if kind in (GONE, EXPIRED):
            return actions
        user = request.user_id
        if kind not in (CONFIRMED, WAITLISTED):
            actions.append(
                {
                    "ConditionCheck": {
                        "TableName": repository._registrations,
                        "Key": registration_key(self._event_id, user),
                        "ConditionExpression": "attribute_not_exists(userId)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
            return actions
        registration: dict[str, Any] = {"eventId": self._event_id, "userId": user, "status": kind}
        if kind == CONFIRMED:
            registration["registeredAt"] = self._now
        else:
            registration.update(ticket=decision["ticket"], addedAt=self._now)
            if self._seen and self._seen.generation is not None:
                registration["generation"] = self._seen.generation
        actions.append(
            {
                "Put": {
                    "TableName": repository._registrations,
                    "Item": serialize(registration),
                    "ConditionExpression": "attribute_not_exists(userId)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        if kind == WAITLISTED:
            entry = {"eventId": self._event_id, "position": decision["ticket"], "userId": user, "addedAt": self._now}
            actions.append(
                {
                    "Put": {
                        "TableName": repository._waitlist,
                        "Item": serialize(entry),
                        "ConditionExpression": "attribute_not_exists(#position)",
                        "ExpressionAttributeNames": {"#position": "position"},
                    }
                }
            )
        return actions

    def _event_action(self) -> dict[str, Any]:
        """The event's side: its counters moved (or only checked) on the state read."""
        repository = self._repository
        if self._seen is None:
            return {
                "ConditionCheck": {
                    "TableName": repository._events,
                    "Key": event_key(self._event_id),
                    "ConditionExpression": "attribute_not_exists(eventId) OR attribute_exists(deleting)",
                }
            }
        seen = self._seen
        values: dict[str, Any] = {":status": value(seen.status), ":one": ONE}
        names = {"#status": "status", "#capacity": "capacity"}
        unchanged = [keys.EVENT_LIVE, "#status = :status"]
        for name, was in (
            ("#capacity", seen.capacity),
            ("registeredCount", seen.registeredCount),
            ("waitlistCount", seen.waitlistCount),
            ("waitlistSeq", seen.waitlistSeq),
            ("generation", seen.generation),
        ):
            placeholder = f":was_{name.lstrip('#')}"
            if was is None:
                unchanged.append(f"attribute_not_exists({name})")
            elif was == 0:
                unchanged.append(f"(attribute_not_exists({name}) OR {name} = {placeholder})")
                values[placeholder] = value(was)
            else:
                unchanged.append(f"{name} = {placeholder}")
                values[placeholder] = value(was)
        enabled = seen.waitlistEnabled
        unchanged.append(
            "waitlistEnabled = :true"
            if enabled
            else "(attribute_not_exists(waitlistEnabled) OR waitlistEnabled = :false)"
        )
        values[":true" if enabled else ":false"] = value(enabled)
        condition = " AND ".join(unchanged)
        moved = (self.registered, self.waiting, self.seq) != (
            seen.registeredCount,
            seen.waitlistCount,
            seen.waitlistSeq,
        )
        if not moved:
            return {
                "ConditionCheck": {
                    "TableName": repository._events,
                    "Key": event_key(self._event_id),
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": {k: v for k, v in values.items() if k != ":one"},
                }
            }
        values.update({":registered": value(self.registered), ":waiting": value(self.waiting), ":seq": value(self.seq)})
        return {
            "Update": {
                "TableName": repository._events,
                "Key": event_key(self._event_id),
                "UpdateExpression": (
                    "SET registeredCount = :registered, waitlistCount = :waiting, waitlistSeq = :seq "
                    f"{keys.MOVE_COUNTER_VERSION}"
                ),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def after(self) -> EventState:
        """The event as this batch's commit left it (for the next batch, whose own condition
        still checks that nothing else changed it meanwhile)."""
        if self._seen is None or self.state_changed:
            return self._state
        moved = {"registeredCount": self.registered, "waitlistCount": self.waiting, "waitlistSeq": self.seq}
        return EventState({**self._state.item, **{k: value(v) for k, v in moved.items()}})  # type: ignore[dict-item]

    @property
    def state_changed(self) -> bool:
        return self.event_changed or not self.decided

    def commit(self) -> Batch:
        if not self.decided:
            return self
        try:
            self._repository._client.transact([self._event_action(), *self.actions], LEADER_ATTEMPTS)
        except DynamoDBError as exc:
            self._cancelled(exc)
            self.decided = {}
        return self

    def _cancelled(self, exc: DynamoDBError) -> None:
        """Which conditions failed: the event's (read it again), or a request's own, which decides
        that request apart (no such user, already registered or waiting, or withdrawn)."""
        if exc.code != "TransactionCanceledException":
            raise exc
        self.event_changed = exc.failed(0)
        registrations = self._repository._registrations
        for index, owner in enumerate(self.owners):
            if owner is None or not exc.failed(index) or owner.stamp in self.refusals:
                continue
            kind, action = next(iter(self.actions[index - 1].items()))
            if kind == "Update":
                self.withdrawn.add(owner.stamp)
            elif action["TableName"] == registrations:
                existing = deserialize(exc.old_item(index) or {}).get("status")
                self.refusals[owner.stamp] = (ALREADY, {"existing": existing or CONFIRMED})
        if not (self.event_changed or self.refusals or self.withdrawn):
            raise exc
