"""Small helpers the test modules share: ids, request bodies, error assertions, table dumps, and
the reset of what a fresh Lambda process would not have cached."""

from __future__ import annotations

import importlib
import json
import pkgutil
import uuid
from datetime import datetime
from typing import Any

from local import config
from shared.repositories.dynamo import pages
from tests.builders import ApiClient, ApiResponse, LambdaContext, matches_filter, stream_records


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def event_body(**fields: Any) -> dict[str, Any]:
    return {"title": "Talk", "date": "2026-12-01", "location": "Hall", "organizer": "Org", **fields}


def make_event(api: ApiClient, **fields: Any) -> dict[str, Any]:
    """Creates an event (unique id unless given) and returns its body: `["eventId"]` for the id."""
    response = api.post("/events", event_body(**{"eventId": uid("evt"), **fields}))
    assert response.status == 201, response.body
    return response.body


def make_users(api: ApiClient, count: int) -> list[str]:
    """Creates `count` users named "Person 0", "Person 1", …; returns their ids."""
    users = []
    for n in range(count):
        user_id = uid(f"user{n}")
        assert api.post("/users", {"userId": user_id, "name": f"Person {n}"}).status == 201
        users.append(user_id)
    return users


def admission_items(event_id: str) -> list[dict[str, Any]]:
    """What a hot event's admission holds (shared/repositories/admission.py): requests and lease."""
    from shared.config import get_settings
    from shared.repositories import admission
    from shared.repositories.dynamo import deserialize, get_client, pages

    responses = pages(
        get_client(),
        "query",
        TableName=get_settings().waitlist_table,
        KeyConditionExpression="eventId = :partition",
        ExpressionAttributeValues={":partition": {"S": admission.partition(event_id)}},
        ConsistentRead=True,
    )
    return [deserialize(item) for response in responses for item in response["Items"]]


def register(api: ApiClient, event_id: str, user_id: str) -> ApiResponse:
    return api.post(f"/events/{event_id}/registrations", {"userId": user_id})


def full_event_with_waiters(api: ApiClient, capacity: int, waiting: int) -> tuple[str, list[str], list[str]]:
    """An event with a waitlist, its `capacity` seats taken and `waiting` users queued:
    (event id, seat holders, waiters in queue order)."""
    event_id = make_event(api, capacity=capacity, waitlistEnabled=True)["eventId"]
    users = make_users(api, capacity + waiting)
    for user in users:
        assert register(api, event_id, user).status == 201
    return event_id, users[:capacity], users[capacity:]


def assert_utc_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp with an explicit UTC offset; returns it parsed."""
    moment = datetime.fromisoformat(text)
    offset = moment.utcoffset()
    assert offset is not None and offset.total_seconds() == 0, text
    return moment


def filter_patterns(function: str = "promotion") -> list[dict[str, Any]]:
    """The filterPatterns serverless.yml gives a function's stream."""
    [stream] = [e["stream"] for e in config.load()["functions"][function]["events"] if "stream" in e]
    return stream["filterPatterns"]


def promotion_filter_patterns() -> list[dict[str, Any]]:
    return filter_patterns("promotion")


def delivered(streams: Any, after: int = 0) -> list[dict[str, Any]]:
    """The moto stream's records from index `after` on that pass serverless.yml's filter, as Lambda
    would deliver them to the promotion function."""
    from shared.config import get_settings
    from shared.repositories.dynamo import get_client

    records = stream_records(get_client(), streams, get_settings().registrations_table)[after:]
    return [r for r in records if any(matches_filter(r, p) for p in promotion_filter_patterns())]


def invoke_promotion(records: list[dict[str, Any]]) -> dict[str, Any]:
    from functions.promotion import handler

    return handler.lambda_handler({"Records": records}, LambdaContext())


def delivered_event_changes(streams: Any, after: int = 0) -> list[dict[str, Any]]:
    """The moto Events stream's records from index `after` on that pass serverless.yml's filter,
    as Lambda would deliver them to the eventChanges function."""
    from shared.config import get_settings
    from shared.repositories.dynamo import get_client

    records = stream_records(get_client(), streams, get_settings().events_table)[after:]
    return [r for r in records if any(matches_filter(r, p) for p in filter_patterns("eventChanges"))]


# A stream batch handled with no failed record.
DRAINED: dict[str, list[Any]] = {"batchItemFailures": []}


def assert_a_replay_spares_the_event_created_again(
    api: ApiClient, event_id: str, records: list[dict[str, Any]]
) -> None:
    """After a background deletion has finished: the id is free again, and when the old deletion's
    record is delivered again, the event created under that id (with a registration) is untouched."""
    from tests.invariants import snapshot

    assert make_event(api, eventId=event_id, capacity=5, title="Second")["eventId"] == event_id
    [newcomer] = make_users(api, 1)
    assert register(api, event_id, newcomer).status == 201
    before = snapshot(_client(), event_id)
    assert invoke_event_changes(records) == DRAINED
    assert snapshot(_client(), event_id) == before
    assert [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body] == [newcomer]


def invoke_event_changes(records: list[dict[str, Any]]) -> dict[str, Any]:
    from functions.event_changes import handler

    return handler.lambda_handler({"Records": records}, LambdaContext())


def assert_error(response: ApiResponse, status: int, *mentions: str) -> None:
    """The status, a body of exactly {"detail": non-empty str}, and each word in the detail."""
    assert response.status == status, (response.status, response.body)
    assert isinstance(response.body, dict) and set(response.body) == {"detail"}, response.body
    assert isinstance(response.body["detail"], str) and response.body["detail"]
    for word in mentions:
        assert word in response.body["detail"], (word, response.body["detail"])


def stored_items(client: Any, tables: list[str] | None = None) -> dict[str, list[str]]:
    """Every item of every table (or of `tables`), exactly as DynamoDB returns it, sorted."""
    found: dict[str, list[str]] = {}
    for table in tables if tables is not None else client.list_tables()["TableNames"]:
        responses = pages(client, "scan", TableName=table, ConsistentRead=True)
        found[table] = sorted(json.dumps(item, sort_keys=True) for response in responses for item in response["Items"])
    return found


def process_caches() -> list[Any]:
    """Every `functools.cache`d function of shared/ (settings, clients, the managers' `default()`),
    found by walking the package, so a cache added tomorrow is cleared too."""
    import shared

    found: dict[int, Any] = {}
    for module_info in pkgutil.walk_packages(shared.__path__, "shared."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "").startswith("shared"):
                found[id(value)] = value
    return sorted(found.values(), key=lambda cached: f"{cached.__module__}.{cached.__qualname__}")


def reset_process_caches() -> None:
    """What a fresh Lambda process would not have: cached clients, settings and managers."""
    for cached in process_caches():
        cached.cache_clear()


def seed_children(event_id: str, confirmed: int, waiting: int, prefix: str = "seed") -> tuple[list[str], list[str]]:
    """Writes `confirmed` registrations and `waiting` waitlist entries (with their markers) of an
    existing event straight into the tables with BatchWriteItem, and sets the event's counters to
    match: thousands of children in seconds where the API would take minutes. Returns (confirmed
    user ids, waiting user ids in queue order)."""
    from shared.config import get_settings
    from shared.repositories.dynamo import get_client, serialize

    client: Any = get_client()
    settings = get_settings()
    holders = [f"{prefix}-c{n:06d}" for n in range(confirmed)]
    waiters = [f"{prefix}-w{n:06d}" for n in range(waiting)]
    event = client.get_item(TableName=settings.events_table, Key={"eventId": {"S": event_id}}, ConsistentRead=True)
    generation = event["Item"]["generation"]["S"]
    # Tickets as joins take them: dense, after the last one the event issued.
    base = int(event["Item"].get("waitlistSeq", {"N": "0"})["N"]) + 1
    writes: list[tuple[str, dict[str, Any]]] = []
    for n, user in enumerate(holders):
        at = f"2026-01-01T00:00:00.{n:06d}+00:00"
        writes.append(
            (
                settings.registrations_table,
                {"eventId": event_id, "userId": user, "status": "confirmed", "registeredAt": at},
            )
        )
    for n, user in enumerate(waiters):
        at = f"2026-01-02T00:00:00.{n:06d}+00:00"
        ticket = base + n
        writes.append(
            (
                settings.registrations_table,
                {
                    "eventId": event_id,
                    "userId": user,
                    "status": "waitlisted",
                    "ticket": ticket,
                    "addedAt": at,
                    "generation": generation,
                },
            )
        )
        writes.append(
            (settings.waitlist_table, {"eventId": event_id, "position": ticket, "userId": user, "addedAt": at})
        )
    for start in range(0, len(writes), 25):
        request: dict[str, list[dict[str, Any]]] = {}
        for table, item in writes[start : start + 25]:
            request.setdefault(table, []).append({"PutRequest": {"Item": serialize(item)}})
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    client.update_item(
        TableName=settings.events_table,
        Key={"eventId": {"S": event_id}},
        UpdateExpression="SET registeredCount = :r, waitlistCount = :w, waitlistSeq = :seq",
        ExpressionAttributeValues={
            ":r": {"N": str(confirmed)},
            ":w": {"N": str(waiting)},
            ":seq": {"N": str(base - 1 + waiting)},
        },
    )
    return holders, waiters


def _client() -> Any:
    from shared.repositories.dynamo import get_client

    return get_client()


class crash_after_transactions:
    """Makes the DynamoDB client raise (as a Lambda losing its network would) before its
    (k+1)-th TransactWriteItems: k transactions commit, then the run dies."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.sent = 0

    def __call__(self, model: Any, **_: Any) -> None:
        if model.name != "TransactWriteItems":
            return
        if self.sent >= self.k:
            raise ConnectionError("Lambda lost its network half-way")
        self.sent += 1

    def __enter__(self) -> crash_after_transactions:
        _client().meta.events.register("before-call.dynamodb.*", self, unique_id="crash-after")
        return self

    def __exit__(self, *_: Any) -> None:
        _client().meta.events.unregister("before-call.dynamodb.*", unique_id="crash-after")
