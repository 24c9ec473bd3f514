"""Crafted paths over the local stack (issue 9, defect 1): encoded dot segments in every case mix
and position (alone and beside literal dots), encoded slashes, backslashes, double encoding,
invalid escapes and overlong ids, sent byte for byte (no client-side normalisation) at every route
and method. A request only ever reaches the route its raw path names: each one here is refused
with a 4xx `{"detail"}` in JSON, and after each one every table is exactly as it was."""

from __future__ import annotations

import http.client
import json
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from shared.api.routes import ROUTES
from tests.helpers import stored_items, uid
from tests.integration.stack import LocalStack

pytestmark = pytest.mark.integration

DOT_SEGMENTS = ["%2E%2E", "%2e%2e", "%2E%2e", "%2e%2E", ".%2E", ".%2e", "%2E.", "%2e.", "%2E", "%2e", "..", "."]
SLASHES = ["%2F", "%2f", "a%2Fb", "%2E%2E%2F", "..%2F", "%5C", "%5c", "a\\b", "..\\", "%2E%2E%5C"]
DOUBLE_ENCODED = ["%252E%252E", "%252e%252e", "%252F", "%255C", "%25", "%zz", "%2"]
CRAFTED = DOT_SEGMENTS + SLASHES + DOUBLE_ENCODED
OVERLONG = ["a" * 65, "a" * 4000, "a" * 20_000]  # the last one exceeds Node's 16 KiB header limit
ACCEPTED = {400, 404, 405, 414, 431}


# Valid bodies, so that a request reaching any route would change something.
BODIES = {
    "POST /events": {"title": "T", "date": "2026-12-01", "location": "L", "organizer": "O"},
    "PUT /events/{eventId}": {"title": "Changed"},
    "POST /users": {"name": "Mallory"},
    "POST /events/{eventId}/registrations": {"userId": "mallory"},
}


def variants(template: str, values: dict[str, str]) -> list[str]:
    """The route's path with each crafted segment in place of each id, and appended or inserted
    after each segment (where the normalised path names the parent route)."""
    segments = template.strip("/").split("/")
    concrete = [values.get(s.strip("{}"), s) if s.startswith("{") else s for s in segments]
    paths = []
    for index, segment in enumerate(segments):
        if segment.startswith("{"):
            for crafted in CRAFTED + OVERLONG:
                paths.append("/" + "/".join([*concrete[:index], crafted, *concrete[index + 1 :]]))
    for crafted in ("%2E%2E", ".%2e", "%2e.", "%2F", "%252E%252E"):
        for index in range(1, len(concrete) + 1):
            paths.append("/" + "/".join([*concrete[:index], crafted, *concrete[index:]]))
    return paths


def send(api: LocalStack, method: str, path: str, body: Any) -> tuple[int, str, str]:
    """The request line exactly as given: `requests` (urllib3) would remove dot segments itself."""
    address = urlsplit(api.base_url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=20)
    try:
        headers = {"Origin": "http://localhost:5173"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read().decode()
    finally:
        connection.close()


def test_crafted_paths_never_reach_another_route(api: LocalStack) -> None:
    # Given an event with a confirmed registration and a waiting user, and a second event
    event_id, other_event = uid("evt"), uid("evt")
    for eid in (event_id, other_event):
        created = api.post(
            "/events",
            json={"eventId": eid, "title": "T", "date": "2026-12-01", "location": "L", "organizer": "O"}
            | {"capacity": 1, "waitlistEnabled": True},
        )
        assert created.status_code == 201, created.text
    holder, waiter = uid("usr"), uid("usr")
    for user in (holder, waiter):
        assert api.post("/users", json={"userId": user, "name": "N"}).status_code == 201
        assert api.post(f"/events/{event_id}/registrations", json={"userId": user}).status_code == 201
    client = boto3.client("dynamodb", endpoint_url=api.dynamodb_endpoint, region_name="us-east-1")
    before = stored_items(client)

    statuses: Counter[int] = Counter()
    failures = []
    sent = 0
    for template, methods in ROUTES.items():
        for method in sorted(methods):
            body = BODIES.get(f"{method} {template}")
            for path in variants(template, {"eventId": event_id, "userId": holder}):
                # When a crafted path is sent
                status, content_type, text = send(api, method, path, body)
                sent += 1
                statuses[status] += 1
                # Then it is refused in the API's error shape, and nothing anywhere changed
                problems = []
                if status not in ACCEPTED:
                    problems.append(f"status {status}")
                if not content_type.startswith("application/json"):
                    problems.append(f"Content-Type {content_type!r}")
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = None
                if not (isinstance(parsed, dict) and set(parsed) == {"detail"} and isinstance(parsed["detail"], str)):
                    problems.append(f"body {text[:200]!r}")
                after = stored_items(client)
                if after != before:
                    changed = sorted(table for table in after if after[table] != before.get(table))
                    problems.append(f"changed {changed}")
                    before = after
                if problems:
                    failures.append(f"{method} {path[:120]}: {'; '.join(problems)}")
    print(f"\ncrafted paths: {sent} requests, statuses {dict(sorted(statuses.items()))}")
    assert sent >= 400
    assert not failures, f"{len(failures)} of {sent} requests:\n" + "\n".join(failures[:40])
    assert api.get(f"/events/{event_id}").json()["registeredCount"] == 1
