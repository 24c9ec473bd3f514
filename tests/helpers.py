"""Small helpers the test modules share: ids, request bodies, error assertions, table dumps."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared.repositories.dynamo import pages
from tests.builders import ApiClient, ApiResponse


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def event_body(**fields: Any) -> dict[str, Any]:
    return {"title": "Talk", "date": "2026-12-01", "location": "Hall", "organizer": "Org", **fields}


def make_event(api: ApiClient, **fields: Any) -> dict[str, Any]:
    """Creates an event (unique id unless given) and returns its body."""
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
