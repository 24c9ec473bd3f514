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


def promotion_filter_patterns() -> list[dict[str, Any]]:
    """The filterPatterns serverless.yml gives the promotion function's stream."""
    [stream] = [e["stream"] for e in config.load()["functions"]["promotion"]["events"] if "stream" in e]
    return stream["filterPatterns"]


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
