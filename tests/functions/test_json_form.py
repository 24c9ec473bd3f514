"""Every answer body has one JSON form (shared.api.serialize.to_json: compact), whichever route,
status or code path built it: Powertools serializing a route's return value, our error, created
and list responses, an idempotent replay, and the errors API Gateway answers itself."""

from __future__ import annotations

import json
from typing import Any

from local import config
from tests.builders import ApiClient, ApiResponse
from tests.helpers import make_event, make_users, register, uid


def compact(text: str) -> str:
    return json.dumps(json.loads(text), separators=(",", ":"))


def test_every_route_and_status_answers_compact_json(api: ApiClient) -> None:
    event = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
    full = make_event(api, capacity=1)["eventId"]
    first, second, third = make_users(api, 3)
    key = {"Idempotency-Key": uid("key")}
    answers: dict[str, ApiResponse] = {
        "health": api.get("/health"),
        "create event": api.post("/events", {"title": "T", "date": "2026-12-01", "location": "L", "organizer": "O"}),
        "get event": api.get(f"/events/{event}"),
        "update event": api.put(f"/events/{event}", {"title": "Renamed"}),
        "list events": api.get("/events?limit=1"),
        "get user": api.get(f"/users/{first}"),
        "create user": api.post("/users", {"name": "Someone"}),
        "register": api.post(f"/events/{event}/registrations", {"userId": first}, headers=key),
        "replay": api.post(f"/events/{event}/registrations", {"userId": first}, headers=key),
        "waitlisted": register(api, event, second),
        "full": (register(api, full, first), register(api, full, second))[1],
        "registrations": api.get(f"/events/{event}/registrations"),
        "waitlist": api.get(f"/events/{event}/waitlist"),
        "user registrations": api.get(f"/users/{first}/registrations"),
        "user waitlist": api.get(f"/users/{second}/waitlist"),
        "empty list": api.get(f"/users/{third}/waitlist"),
        "unregister": api.delete(f"/events/{event}/registrations/{first}"),
        "not found": api.get("/events/missing-event"),
        "invalid": api.post("/users", {"name": 5}),
        "wrong method": api.request("PATCH", "/events"),
        "delete event": api.delete(f"/events/{full}"),
    }
    assert answers["replay"].headers.get("idempotent-replayed") == "true"
    assert answers["full"].status == 409 and answers["waitlisted"].body["status"] == "waitlisted"
    for name, response in answers.items():
        assert response.text, name
        assert response.text == compact(response.text), (name, response.text)


def test_gateway_responses_use_the_same_form() -> None:
    resources = config.load()["resources"]["Resources"]
    templates: list[Any] = [
        resource["Properties"]["ResponseTemplates"]["application/json"]
        for resource in resources.values()
        if resource["Type"] == "AWS::ApiGateway::GatewayResponse"
    ]
    assert templates
    for template in templates:
        # $context.error.messageString is itself a quoted JSON string.
        sample = template.replace("$context.error.messageString", '"Missing Authentication Token"')
        assert sample == compact(sample), template
