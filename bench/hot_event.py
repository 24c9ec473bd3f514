"""A hot event, simulated: a burst of registrations for ONE event on moto, with the transaction
conflicts and throttling real DynamoDB would add injected by a botocore `before-call` hook, at a
rate derived from the offered load per item (see docs/scaling.md for the model):

    p_conflict = 1 - exp(-λ·τ)                    λ: transactions/s on the item, τ: a transaction's
    p_throttle = max(0, 1 - (1000 WCU/s / 2) / λ)    time in flight; 2 WCU per transactional write
    p_busy     = 1 - (1 - p_conflict)(1 - p_throttle)

Scenarios: today's design (one counter item, the real shared/ code: RegistrationManager with its
bounded retries) at the API's stage throttle (100 req/s) and at 1,000 req/s; and the proposed
sharded counter (N counter items per event; a prototype here, not in shared/) at 1,000 req/s.
Backoff sleeps are recorded, not slept. Counts: answered (201 / 409 full), gave up (429: busy past the retries),
conflicted attempts, retries, and whether the event was overbooked.

    .venv/bin/python -m bench.hot_event --requests 10000 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import types
from typing import Any

from bench.common import in_process_dynamodb, write_json

TAU = 0.010  # s a transaction holds its items (DynamoDB transactional write latency, p50 order)
PARTITION_WCU = 1000  # per partition (and so per item), per second
WCU_PER_TRANSACTIONAL_WRITE = 2


def busy_rate(rate_per_item: float) -> float:
    conflict = 1 - math.exp(-rate_per_item * TAU)
    throttle = max(0.0, 1 - (PARTITION_WCU / WCU_PER_TRANSACTIONAL_WRITE) / rate_per_item)
    return 1 - (1 - conflict) * (1 - throttle)


class Injector:
    """Cancels TransactWriteItems calls that touch the hot event with probability `rate`, the way
    DynamoDB does (TransactionCanceledException, reason TransactionConflict / ThrottlingError)."""

    def __init__(self, rate: float, seed: int = 7) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.attempts = 0
        self.conflicted = 0

    def __call__(self, params: dict[str, Any], **_: Any) -> Any:
        body = json.loads(params.get("body") or b"{}")
        items = body.get("TransactItems", [])
        self.attempts += 1
        if self.random.random() >= self.rate:
            return None
        self.conflicted += 1
        reasons = [{"Code": "TransactionConflict" if i == 0 else "None"} for i in range(len(items))]
        parsed = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled (injected)"},
            "CancellationReasons": reasons,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return types.SimpleNamespace(status_code=400, headers={}, content=b""), parsed


class SimulatedSleep:
    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0

    def sleep(self, seconds: float) -> None:
        self.calls += 1
        self.seconds += seconds


def _users(client: Any, table: str, count: int) -> list[str]:
    users = [f"hot-u{n:05d}" for n in range(count)]
    for start in range(0, count, 25):
        client.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {"userId": {"S": u}, "name": {"S": "Hot"}, "createdAt": {"S": "2026"}}}}
                    for u in users[start : start + 25]
                ]
            }
        )
    return users


def current_design(requests: int, capacity: int, rate_per_item: float) -> dict[str, Any]:
    """The shipped code path: RegistrationManager.register_user on one counter item."""
    import boto3

    from local import config
    from shared import retry
    from shared.errors import EventFullError, RetryLaterError
    from shared.managers import events, registrations
    from shared.repositories import transactions
    from shared.repositories.dynamo import get_client
    from tests.helpers import reset_process_caches

    reset_process_caches()
    client = boto3.client("dynamodb", region_name="us-east-1")
    users = _users(client, config.load()["custom"]["tables"]["users"], requests)
    from shared.models.requests import EventCreate

    with contextlib.redirect_stdout(io.StringIO()):
        events.default().create(
            EventCreate.model_validate(
                {
                    "eventId": "hot",
                    "title": "Hot",
                    "date": "2026-12-01",
                    "location": "Hall A",
                    "organizer": "Ada",
                    "capacity": capacity,
                    "waitlistEnabled": False,
                }
            )
        )
    injector = Injector(busy_rate(rate_per_item))
    get_client().meta.events.register("before-call.dynamodb.TransactWriteItems", injector)
    sleep = SimulatedSleep()
    real_time = retry.time
    retry.time = sleep  # type: ignore[assignment]
    # The design before admission: a registration only ever retries its own transaction
    # (TRANSACTION_ATTEMPTS times), so this model shows what one counter item sustains alone.
    direct_attempts = transactions.DIRECT_ATTEMPTS
    transactions.DIRECT_ATTEMPTS = None  # type: ignore[assignment]
    counts = {"201": 0, "409": 0, "gave up": 0}
    try:
        manager = registrations.default()
        for user in users:
            try:
                manager._register("hot", user, deadline=float("inf"))
                counts["201"] += 1
            except EventFullError:
                counts["409"] += 1
            except RetryLaterError:
                counts["gave up"] += 1
    finally:
        retry.time = real_time
        transactions.DIRECT_ATTEMPTS = direct_attempts
    event = client.get_item(TableName=config.load()["custom"]["tables"]["events"], Key={"eventId": {"S": "hot"}})
    registered = int(event["Item"]["registeredCount"]["N"])
    return _report(
        f"model: 1 counter item, no admission, {rate_per_item:.0f} tx/s",
        1,
        rate_per_item,
        injector,
        sleep,
        counts,
        requests,
        capacity,
        registered,
    )


def sharded_design(requests: int, capacity: int, rate: float, shards: int) -> dict[str, Any]:
    """Prototype: the event's seats split over `shards` counter items (capacity/N each). A request
    reads all shard counters (one BatchGetItem, no write units), picks a random shard with seats
    left and confirms with one transaction on that shard (counter +1, ConditionCheck user, Put
    registration — the registration key still makes a user's seat unique per event). A busy
    cancellation is retried with the same backoff as shared/; a shard that filled meanwhile sends
    the request back to the counters; no shard with seats left: 409 full."""
    import boto3
    from botocore.exceptions import ClientError

    from local import config
    from shared import retry
    from shared.repositories import failures

    tables = config.load()["custom"]["tables"]
    client = boto3.client("dynamodb", region_name="us-east-1")
    users = _users(client, tables["users"], requests)
    event_id = f"hot-sharded-{shards}"
    share = [capacity // shards + (1 if k < capacity % shards else 0) for k in range(shards)]
    keys = [f"{event_id}#{k}" for k in range(shards)]
    for key, seats in zip(keys, share, strict=True):
        client.put_item(
            TableName=tables["events"],
            Item={"eventId": {"S": key}, "capacity": {"N": str(seats)}, "registeredCount": {"N": "0"}},
        )
    injector = Injector(busy_rate(rate / shards), seed=11)
    client.meta.events.register("before-call.dynamodb.TransactWriteItems", injector)
    sleep = SimulatedSleep()
    real_time = retry.time
    retry.time = sleep  # type: ignore[assignment]
    attempts_allowed = int(os.environ.get("TRANSACTION_ATTEMPTS", "40"))
    counts = {"201": 0, "409": 0, "gave up": 0}
    chooser = random.Random(3)
    try:
        for user in users:
            outcome = "gave up"
            for attempt in range(attempts_allowed):
                response = client.batch_get_item(
                    RequestItems={tables["events"]: {"Keys": [{"eventId": {"S": k}} for k in keys]}}
                )
                open_shards = [
                    item["eventId"]["S"]
                    for item in response["Responses"][tables["events"]]
                    if int(item["registeredCount"]["N"]) < int(item["capacity"]["N"])
                ]
                if not open_shards:
                    outcome = "409"
                    break
                shard = chooser.choice(open_shards)
                try:
                    client.transact_write_items(
                        TransactItems=[
                            {
                                "Update": {
                                    "TableName": tables["events"],
                                    "Key": {"eventId": {"S": shard}},
                                    "UpdateExpression": "SET registeredCount = registeredCount + :one",
                                    "ConditionExpression": "registeredCount < #capacity",
                                    "ExpressionAttributeNames": {"#capacity": "capacity"},
                                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                                }
                            },
                            {
                                "ConditionCheck": {
                                    "TableName": tables["users"],
                                    "Key": {"userId": {"S": user}},
                                    "ConditionExpression": "attribute_exists(userId)",
                                }
                            },
                            {
                                "Put": {
                                    "TableName": tables["registrations"],
                                    "Item": {
                                        "eventId": {"S": event_id},
                                        "userId": {"S": user},
                                        "status": {"S": "confirmed"},
                                        "registeredAt": {"S": "2026"},
                                    },
                                    "ConditionExpression": "attribute_not_exists(userId)",
                                }
                            },
                        ]
                    )
                    outcome = "201"
                    break
                except ClientError as exc:
                    reasons = failures.cancellation_reasons(exc)
                    if failures.is_busy_cancellation(reasons):
                        retry.backoff(attempt)
                        continue
                    if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                        continue  # that shard filled meanwhile: read the counters again
                    raise
            counts[outcome] += 1
    finally:
        retry.time = real_time
    response = client.batch_get_item(RequestItems={tables["events"]: {"Keys": [{"eventId": {"S": k}} for k in keys]}})
    registered = sum(int(item["registeredCount"]["N"]) for item in response["Responses"][tables["events"]])
    return _report(
        f"sharded: {shards} counter items, {rate:.0f} tx/s",
        shards,
        rate / shards,
        injector,
        sleep,
        counts,
        requests,
        capacity,
        registered,
    )


def shipped_burst(
    requests: int, capacity: int, waitlist: bool, threads: int, transaction_ms: float, rate: float | None = None
) -> dict[str, Any]:
    """The shipped code under a real burst: `requests` registrations for one event against the
    embedded DynamoDB server in AWS limits mode with transactions holding their items
    `transaction_ms` (so they truly overlap: one that meets another on an item is cancelled, as
    DynamoDB does). RegistrationManager.register_user as the register function calls it: its own
    transaction first, then admission (shared/managers/admission.py).

    Without `rate`, `threads` threads register one after another as fast as they are answered (a
    closed loop). With `rate`, registrations are *offered* at that many per second whatever the
    answers (an open loop: registration i starts at i/rate s, on one of `threads` threads, late
    only if all are busy). Conflicts depend on how many transactions overlap on an item, λ·τ, so
    `rate` r with holds of τ ms offers what r·τ/10 transactions/s offer DynamoDB at its 10 ms
    (TAU): a time-dilated run of a rate this machine could not serve at 10 ms."""
    import threading
    import time
    import uuid
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    from bench.common import percentile
    from local import config
    from local.config import FAKE_AWS
    from local.dynamodb import server_process

    with server_process(f"transaction_ms={transaction_ms}") as endpoint:
        os.environ.update(FAKE_AWS)
        os.environ.update(dict(config.environment().items()))
        os.environ.update(DYNAMODB_ENDPOINT=endpoint, POWERTOOLS_LOG_LEVEL="ERROR")
        from shared.errors import DomainError, EventFullError, TooManyRequestsError
        from shared.managers import events, registrations
        from shared.managers import waitlist as waitlists
        from shared.models.domain import Registration, WaitlistEntry
        from shared.models.requests import EventCreate
        from shared.repositories.dynamo import get_client
        from tests.helpers import reset_process_caches
        from tests.invariants import check_invariants

        reset_process_caches()
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        config.create_tables(client)
        users = _users(client, config.load()["custom"]["tables"]["users"], requests)
        event_id = f"hot-{uuid.uuid4().hex[:6]}"
        with contextlib.redirect_stdout(io.StringIO()):
            events.default().create(
                EventCreate.model_validate(
                    {
                        "eventId": event_id,
                        "title": "Hot",
                        "date": "2026-12-01",
                        "location": "Hall A",
                        "organizer": "Ada",
                        "capacity": capacity,
                        "waitlistEnabled": waitlist,
                    }
                )
            )
        lock = threading.Lock()
        calls: Counter[str] = Counter()
        transactions: Counter[str] = Counter()

        def count(model: Any, **_: Any) -> None:
            with lock:
                calls[model.name] += 1

        def outcome(model: Any, parsed: Any, context: Any, **_: Any) -> None:
            if model.name == "TransactWriteItems":
                reasons = {r.get("Code") for r in parsed.get("CancellationReasons") or []} - {"None"}
                with lock:
                    transactions["committed" if "Error" not in parsed else "/".join(sorted(reasons)) or "error"] += 1
                    if "Error" not in parsed and context.get("leader"):
                        transactions["leader committed"] += 1

        def leader(params: Any, context: Any, model: Any, **_: Any) -> None:
            # A leader's transaction decides requests: it updates items of the admission partition.
            # Lease writes (the item at position 0): tries, renewals, releases.
            if model.name == "TransactWriteItems":
                keys = [item.get("Update", {}).get("Key", {}) for item in params["TransactItems"]]
                context["leader"] = any(str(key.get("eventId", {}).get("S", "")).endswith("#admission") for key in keys)
            elif model.name == "UpdateItem" and params.get("Key", {}).get("position") == {"N": "0"}:
                with lock:
                    calls["lease write"] += 1

        get_client().meta.events.register("provide-client-params.dynamodb", leader)

        get_client().meta.events.register("before-call.dynamodb", count)
        get_client().meta.events.register("after-call.dynamodb", outcome)
        manager = registrations.default()
        latencies: list[float] = []

        starts: list[float] = []
        late: list[float] = []
        opened = time.monotonic() + 0.5

        def register(numbered: tuple[int, str]) -> Any:
            number, user = numbered
            if rate:
                due = opened + number / rate
                time.sleep(max(0.0, due - time.monotonic()))
            started = time.monotonic()
            if rate:
                with lock:
                    starts.append(started)
                    late.append(started - due)
            try:
                answer: Any = manager.register_user(event_id, user)
            except DomainError as exc:
                answer = exc
            with lock:
                latencies.append(time.monotonic() - started)
            return answer

        started = time.monotonic()
        with ThreadPoolExecutor(threads) as pool:
            answers = list(pool.map(register, enumerate(users)))
        elapsed = time.monotonic() - started
        offered = (len(starts) - 1) / (max(starts) - min(starts)) if len(starts) > 1 else None
        confirmed = sum(isinstance(a, Registration) for a in answers)
        told = {user: a.position for user, a in zip(users, answers, strict=True) if isinstance(a, WaitlistEntry)}
        listed: dict[str, int] = {}
        cursor = None
        while True:
            page = waitlists.default().list_for_event(event_id, 100, cursor)
            listed.update({entry["userId"]: entry["position"] for entry in page.items})
            cursor = page.cursor
            if not cursor:
                break
        try:
            check_invariants(client, event_id, quiet=True)
            invariants = "hold"
        except AssertionError as exc:
            invariants = f"VIOLATED: {exc}"
        others = Counter(
            type(a).__name__
            for a in answers
            if isinstance(a, DomainError) and not isinstance(a, EventFullError | TooManyRequestsError)
        )
        return {
            "scenario": f"shipped, waitlist {'on' if waitlist else 'off'}",
            "requests": requests,
            "capacity": capacity,
            "threads": threads,
            "transaction_ms": transaction_ms,
            "elapsed_s": elapsed,
            "requests_per_s": requests / elapsed,
            "rate": rate,
            "offered_per_s": offered,
            "offered_at_tau_per_s": offered * transaction_ms / (TAU * 1000) if offered else None,
            "late_max_s": max(late) if late else None,
            "transactions_per_s": (sum(transactions.values()) - transactions["leader committed"]) / elapsed,
            "confirmed": confirmed,
            "waitlisted": len(told),
            "full_409": sum(isinstance(a, EventFullError) for a in answers),
            "gave_up_429": sum(isinstance(a, TooManyRequestsError) for a in answers),
            "other_errors": dict(others),
            "positions_exact": sorted(told.values()) == list(range(1, len(told) + 1)) and told == listed,
            "invariants": invariants,
            "admission_requests": calls["PutItem"],  # the only single PutItem a registration makes
            "leader_commits": transactions["leader committed"],
            "lease_writes": calls["lease write"],
            "latency_p50_s": percentile(latencies, 0.5),
            "latency_p99_s": percentile(latencies, 0.99),
            "calls": dict(calls),
            "transactions": dict(transactions),
        }


def _report(
    name: str,
    items: int,
    rate_per_item: float,
    injector: Injector,
    sleep: SimulatedSleep,
    counts: dict[str, int],
    requests: int,
    capacity: int,
    registered: int,
) -> dict[str, Any]:
    return {
        "scenario": name,
        "counter_items": items,
        "tx_per_item_per_s": rate_per_item,
        "injected_busy_rate": injector.rate,
        "requests": requests,
        "capacity": capacity,
        "answered_201": counts["201"],
        "answered_409_full": counts["409"],
        "gave_up": counts["gave up"],
        "transaction_attempts": injector.attempts,
        "conflicted": injector.conflicted,
        "retried": sleep.calls,
        "backoff_seconds_total": sleep.seconds,
        "registered_count": registered,
        "overbooked": registered > capacity,
    }


def run(
    requests: int,
    capacity: int,
    shards: int,
    threads: int,
    transaction_ms: float,
    offered: float | None = None,
    offered_transaction_ms: float | None = None,
    offered_threads: int = 400,
) -> dict[str, Any]:
    bursts = [shipped_burst(requests, capacity, waitlist, threads, transaction_ms) for waitlist in (False, True)]
    if offered:
        bursts += [
            shipped_burst(
                requests, capacity, waitlist, offered_threads, offered_transaction_ms or transaction_ms, offered
            )
            for waitlist in (False, True)
        ]
    in_process_dynamodb()
    from moto import mock_aws

    from local import config

    scenarios = []
    for kind, rate in (("today", 100.0), ("today", 1000.0), ("sharded", 1000.0)):
        with mock_aws():
            import boto3

            config.create_tables(boto3.client("dynamodb", region_name="us-east-1"))
            if kind == "today":
                # Today's design rejects most of a burst at once: the comparison needs fewer requests.
                scenarios.append(current_design(max(requests // 5, 10), capacity, rate))
            else:
                scenarios.append(sharded_design(requests, capacity, rate, shards))
    return {"tau_s": TAU, "scenarios": scenarios, "bursts": bursts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--capacity", type=int, default=1_000)
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--threads", type=int, default=64, help="registrations in flight at once (shipped burst)")
    parser.add_argument("--transaction-ms", type=float, default=10.0, help="how long a transaction holds its items")
    parser.add_argument(
        "--offered", type=float, help="also offer the burst at this many registrations/s (open loop, time-dilated)"
    )
    parser.add_argument("--offered-transaction-ms", type=float, help="transaction holds in the offered runs")
    parser.add_argument("--offered-threads", type=int, default=400, help="threads serving the offered runs")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    write_json(
        args.json,
        run(
            args.requests,
            args.capacity,
            args.shards,
            args.threads,
            args.transaction_ms,
            args.offered,
            args.offered_transaction_ms,
            args.offered_threads,
        ),
    )


if __name__ == "__main__":
    main()
