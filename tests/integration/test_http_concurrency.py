"""The concurrent scenarios of the registrations issue, over HTTP on the real local stack
(serverless-offline, the embedded DynamoDB, the stream-driven promotion function).

serverless-offline on its own starts one more Python process per function for each request that
arrives while the others are busy; the local gateway (plugins/local-gateway.js) queues them instead,
at most LOCAL_CONCURRENCY at once per function, so the storm test sends 100 clients at the same
moment and every one is answered (none waits into the function timeout for a cold process)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.helpers import uid
from tests.integration.stack import LocalStack, create_event

pytestmark = pytest.mark.integration

_local = threading.local()


def call(api: LocalStack, method: str, path: str, body: Any = None) -> requests.Response:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session.request(method, api.url(path), json=body, timeout=60)


def create_users(api: LocalStack, count: int) -> list[str]:
    ids = [uid("racer") for _ in range(count)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda u: call(api, "POST", "/users", {"userId": u, "name": "Racer"}).status_code, ids)
        )
    assert statuses == [201] * count
    return ids


def all_pages(api: LocalStack, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        response = call(api, "GET", path + (f"?nextToken={token}" if token else ""))
        assert response.status_code == 200, response.text
        items.extend(response.json())
        token = response.headers.get("X-Next-Token")
        if not token:
            return items


def test_200_concurrent_registrations_for_20_seats_over_http(api: LocalStack) -> None:
    event_id = create_event(api, capacity=20, waitlistEnabled=True)["eventId"]
    people = create_users(api, 200)

    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda u: call(api, "POST", f"/events/{event_id}/registrations", {"userId": u}), people)
        )

    assert [r.status_code for r in responses] == [201] * 200, [r.text for r in responses if r.status_code != 201]
    bodies = [r.json() for r in responses]
    assert sum(b["status"] == "confirmed" for b in bodies) == 20
    told = {b["userId"]: b["position"] for b in bodies if b["status"] == "waitlisted"}
    assert sorted(told.values()) == list(range(1, 181))
    waitlist = all_pages(api, f"/events/{event_id}/waitlist")
    assert {w["userId"]: w["position"] for w in waitlist} == told
    event = call(api, "GET", f"/events/{event_id}").json()
    assert (event["registeredCount"], event["waitlistCount"]) == (20, 180)


def test_the_same_user_twenty_times_at_once_over_http(api: LocalStack) -> None:
    event_id = create_event(api, capacity=5, waitlistEnabled=True)["eventId"]
    [person] = create_users(api, 1)

    with ThreadPoolExecutor(10) as pool:
        codes = list(
            pool.map(
                lambda _: call(api, "POST", f"/events/{event_id}/registrations", {"userId": person}).status_code,
                range(20),
            )
        )

    assert sorted(codes) == [201] + [409] * 19
    assert [r["userId"] for r in all_pages(api, f"/events/{event_id}/registrations")] == [person]


def test_unregistrations_racing_registrations_over_http(api: LocalStack) -> None:
    event_id = create_event(api, capacity=20, waitlistEnabled=True)["eventId"]
    holders, waiters, newcomers = create_users(api, 20), create_users(api, 30), create_users(api, 20)
    for person in holders + waiters:
        assert call(api, "POST", f"/events/{event_id}/registrations", {"userId": person}).status_code == 201

    jobs = [("DELETE", f"/events/{event_id}/registrations/{u}", None) for u in holders[:15]] + [
        ("POST", f"/events/{event_id}/registrations", {"userId": u}) for u in newcomers
    ]
    jobs = [jobs[i] for i in sorted(range(len(jobs)), key=lambda i: (i * 7919) % len(jobs))]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda job: call(api, *job).status_code, jobs))
    assert all(code in (200, 201) for code in codes), codes

    # The stream drains: 15 seats go to the first 15 waiters, in order.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        event = call(api, "GET", f"/events/{event_id}").json()
        if event["registeredCount"] == 20:
            break
        time.sleep(0.2)
    confirmed = {r["userId"] for r in all_pages(api, f"/events/{event_id}/registrations")}
    waiting = [w["userId"] for w in all_pages(api, f"/events/{event_id}/waitlist")]
    assert confirmed == set(holders[15:]) | set(waiters[:15])
    assert waiting[:15] == waiters[15:] and set(waiting[15:]) == set(newcomers)
    event = call(api, "GET", f"/events/{event_id}").json()
    assert (event["registeredCount"], event["waitlistCount"]) == (20, 35)


def test_a_storm_of_clients_at_once_is_queued_not_timed_out(api: LocalStack) -> None:
    # Given one event of 20 seats, and 100 clients who all register at the same moment (issue #10's
    # storm, smaller: the local gateway queues each function's invocations instead of starting a cold
    # process per request, so nobody waits into the function timeout and gets a 504)
    event_id = create_event(api, capacity=20, waitlistEnabled=True)["eventId"]
    people = create_users(api, 100)
    start = threading.Barrier(100)

    def register_at_once(user: str) -> requests.Response:
        start.wait()
        return call(api, "POST", f"/events/{event_id}/registrations", {"userId": user})

    with ThreadPoolExecutor(100) as pool:
        responses = list(pool.map(register_at_once, people))

    # Then every request is answered 201: 20 confirmed, 80 waiting in positions 1..80
    assert [r.status_code for r in responses] == [201] * 100, [r.text for r in responses if r.status_code != 201]
    bodies = {r.json()["userId"]: r.json() for r in responses}
    assert sum(b["status"] == "confirmed" for b in bodies.values()) == 20
    waiting = all_pages(api, f"/events/{event_id}/waitlist")
    assert [w["position"] for w in waiting] == list(range(1, 81))

    # When the 20 confirmed leave at the same moment
    holders = [user for user, body in bodies.items() if body["status"] == "confirmed"]
    leave = threading.Barrier(20)

    def unregister_at_once(user: str) -> requests.Response:
        leave.wait()
        return call(api, "DELETE", f"/events/{event_id}/registrations/{user}")

    with ThreadPoolExecutor(20) as pool:
        assert [r.status_code for r in pool.map(unregister_at_once, holders)] == [200] * 20

    # Then the first 20 in line are confirmed (by the stream), the rest moved up to 1..60
    expected = {w["userId"] for w in waiting[:20]}
    deadline = time.monotonic() + 60
    confirmed: set[str] = set()
    while time.monotonic() < deadline and confirmed != expected:
        confirmed = {r["userId"] for r in all_pages(api, f"/events/{event_id}/registrations")}
        time.sleep(0.2)
    assert confirmed == expected
    assert [w["userId"] for w in all_pages(api, f"/events/{event_id}/waitlist")] == [w["userId"] for w in waiting[20:]]
    assert [w["position"] for w in all_pages(api, f"/events/{event_id}/waitlist")] == list(range(1, 61))
