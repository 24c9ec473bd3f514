"""Hostile input over the local stack, where the outside corpus found 500s (issue 9): numbers
beyond Python's int-string limit in any field of any body route, multipart and form bodies with
broken boundaries, and query parameters in forms Python would coerce. 0 responses >= 500, every
error exactly `{"detail": str}`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import uid
from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

HUGE = "9" * 5000
EVENT = {"title": "T", "date": "2026-12-01", "location": "L", "organizer": "O"}


def assert_detail(response: Any, status: int, *mentions: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers.get("Content-Type", "").startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"detail"} and isinstance(body["detail"], str), body
    for word in mentions:
        assert word in body["detail"], (word, body["detail"])


@pytest.fixture(scope="module")
def event_id(local_stack: LocalStack) -> str:
    event = uid("evt")
    assert local_stack.post("/events", json={"eventId": event, **EVENT, "capacity": 2}).status_code == 201
    return event


def routes(event_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/events", EVENT),
        ("PUT", f"/events/{event_id}", {"title": "Renamed"}),
        ("POST", "/users", {"name": "Ada"}),
        ("POST", f"/events/{event_id}/registrations", {"userId": "someone"}),
    ]


@pytest.mark.parametrize("number", [HUGE, "-" + HUGE, HUGE + ".5", HUGE + "e9", "NaN", "-Infinity"])
@pytest.mark.parametrize("field", ["capacity", "title", "userId", "name", "unknown"])
def test_numbers_beyond_the_int_string_limit_are_400_naming_the_field(
    api: LocalStack, event_id: str, field: str, number: str
) -> None:
    for method, path, valid in routes(event_id):
        raw = json_with(valid, field, number)
        response = api.request(method, path, data=raw, headers={"Content-Type": "application/json"})
        assert_detail(response, 400, f"body.{field}")


def json_with(body: dict[str, Any], field: str, raw_value: str) -> bytes:
    return json.dumps({**body, field: "<raw>"}).replace('"<raw>"', raw_value).encode()


@pytest.mark.parametrize("limit", ["5.0", "%2B5", "+5", "1_0", "%205", "05", "9" * 5000])
@pytest.mark.parametrize("path", ["/events", "/events/e/registrations", "/users/u/waitlist"])
def test_limit_is_a_plain_decimal_integer(api: LocalStack, path: str, limit: str) -> None:
    assert_detail(api.get(f"{path}?limit={limit}"), 400, "limit")
