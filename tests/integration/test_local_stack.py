"""`make run` end to end: the routes of serverless.yml through serverless-offline, the embedded
DynamoDB, stream-driven promotion (after an unregistration and after a capacity raise), background
deletion of a large event, CORS, and a clean stop on Ctrl-C."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import boto3
import pytest

from local import config
from local.dynamodb import EmbeddedDynamoDB
from tests.integration.stack import TIMINGS, LocalStack, create_event, create_user, describe, start_stack

pytestmark = pytest.mark.integration

ORIGIN = "http://localhost:5173"
PROMOTION_DEADLINE = 10.0


def assert_detail(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body
    return body


def test_health(api: LocalStack) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}
    assert api.startup_seconds < 60, f"ready after {api.startup_seconds:.1f} s"


def test_startup_reports_where_it_listens(api: LocalStack) -> None:
    # local.run prints once its own /health probe succeeds, which may be just after ours.
    deadline = time.monotonic() + 15
    while f"API ready on {api.base_url}" not in api.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, api.log_tail()
        time.sleep(0.1)
    # …after serverless-offline's route listing and its own "Server ready": the line a newcomer needs.
    lines = api.log_path.read_text(errors="replace").splitlines()
    ready = next(n for n, line in enumerate(lines) if f"API ready on {api.base_url}" in line)
    assert ready > max(n for n, line in enumerate(lines) if line.startswith(("│", "└", "Server ready")))


def test_events_and_users_over_http(api: LocalStack) -> None:
    event = create_event(api, capacity=10)
    assert event["capacity"] == 10 and event["registeredCount"] == 0

    fetched = api.get(f"/events/{event['eventId']}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["title"] == "Integration night"

    user_id = create_user(api, "Grace")
    user = api.get(f"/users/{user_id}")
    assert user.status_code == 200, user.text
    assert user.json()["name"] == "Grace"

    registered = api.post(f"/events/{event['eventId']}/registrations", json={"userId": user_id})
    assert registered.status_code == 201, registered.text
    assert registered.json()["status"] == "confirmed"


@pytest.mark.parametrize("path", ["/events", "/users"])
def test_malformed_json_is_400_with_detail(api: LocalStack, path: str) -> None:
    response = api.post(path, data=b'{"title": ', headers={"Content-Type": "application/json"})
    assert_detail(response, 400)


@pytest.mark.parametrize("path", ["/", "/nope", "/events/x/unknown/deeper"])
def test_unknown_path_is_404_with_detail(api: LocalStack, path: str) -> None:
    assert_detail(api.get(path), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/events/some-event", {"GET", "PUT", "DELETE"}),
        ("POST", "/health", {"GET"}),
        ("GET", "/events/e/registrations/u", {"DELETE"}),
    ],
)
def test_wrong_method_on_known_path_is_405_with_detail(api: LocalStack, method: str, path: str, allowed: set) -> None:
    # serverless-offline hands a method no function declares to ANY /{proxy+} (the fallback function).
    response = api.request(method, path)
    assert_detail(response, 405)
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_cors_preflight(api: LocalStack) -> None:
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,idempotency-key,authorization",
    }
    response = api.request("OPTIONS", "/events", headers=preflight)
    assert response.status_code in (200, 204), response.text
    assert response.headers.get("Access-Control-Allow-Origin") in (ORIGIN, "*")
    assert "POST" in response.headers.get("Access-Control-Allow-Methods", "")
    allowed = {h.strip() for h in response.headers.get("Access-Control-Allow-Headers", "").lower().split(",")}
    assert {"content-type", "idempotency-key", "authorization"} <= allowed


@pytest.mark.parametrize("headers", [{}, {"Origin": ORIGIN}, {"Access-Control-Request-Method": "POST"}])
@pytest.mark.parametrize(("path", "allowed"), [("/events", {"GET", "POST"}), ("/events/e/registrations/u", {"DELETE"})])
def test_options_that_is_no_full_preflight_is_answered_not_an_error(
    api: LocalStack, headers: dict, path: str, allowed: set
) -> None:
    # hapi answered 404 "CORS error: Missing Access-Control-Request-Method header" (200 with that
    # body when an Origin came), where the functions' own preflight answer and API Gateway's answer.
    response = api.request("OPTIONS", path, headers=headers)

    assert response.status_code in (200, 204), (response.status_code, response.text)
    assert response.text == ""
    assert allowed | {"OPTIONS"} <= {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    if "Origin" in headers:
        assert response.headers.get("Access-Control-Allow-Origin") in (ORIGIN, "*")


@pytest.mark.parametrize("headers", [{}, {"Origin": ORIGIN}])
def test_options_on_an_unknown_path_is_404_detail(api: LocalStack, headers: dict) -> None:
    assert_detail(api.request("OPTIONS", "/nope", headers=headers), 404)


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/health", 200), ("GET", "/nope", 404)])
def test_cors_headers_on_responses_errors_included(api: LocalStack, method: str, path: str, status: int) -> None:
    response = api.request(method, path, headers={"Origin": ORIGIN})
    assert response.status_code == status
    assert response.headers.get("Access-Control-Allow-Origin") in (ORIGIN, "*")


def test_unregistering_promotes_the_head_of_the_waitlist(api: LocalStack) -> None:
    event_id = create_event(api, capacity=2, waitlistEnabled=True)["eventId"]
    first, second, waiter_1, waiter_2 = (create_user(api, name) for name in ("One", "Two", "Three", "Four"))
    statuses = []
    for user_id in (first, second, waiter_1, waiter_2):
        response = api.post(f"/events/{event_id}/registrations", json={"userId": user_id})
        assert response.status_code == 201, response.text
        statuses.append(response.json()["status"])
    assert statuses == ["confirmed", "confirmed", "waitlisted", "waitlisted"]

    removed = api.delete(f"/events/{event_id}/registrations/{first}")
    assert removed.status_code == 200, removed.text
    unregistered_at = time.monotonic()

    confirmed: list[str] = []
    while time.monotonic() - unregistered_at < PROMOTION_DEADLINE:
        response = api.get(f"/events/{event_id}/registrations")
        assert response.status_code == 200, response.text
        confirmed = [item["userId"] for item in response.json()]
        if waiter_1 in confirmed:
            break
        time.sleep(0.05)
    latency = time.monotonic() - unregistered_at
    TIMINGS["promotion after DELETE (s)"] = latency
    assert waiter_1 in confirmed, f"not promoted within {PROMOTION_DEADLINE:.0f} s:\n{api.log_tail()}"
    assert sorted(confirmed) == sorted([second, waiter_1])

    waitlist = api.get(f"/events/{event_id}/waitlist")
    assert waitlist.status_code == 200, waitlist.text
    assert [(item["userId"], item["position"]) for item in waitlist.json()] == [(waiter_2, 1)]

    event = api.get(f"/events/{event_id}").json()
    assert (event["registeredCount"], event["waitlistCount"]) == (2, 1)


def test_raising_capacity_promotes_the_waiters_from_the_events_stream(api: LocalStack) -> None:
    # Given a full event with three people waiting
    event_id = create_event(api, capacity=1, waitlistEnabled=True)["eventId"]
    holder, *waiters = (create_user(api, name) for name in ("One", "Two", "Three", "Four"))
    for user_id in (holder, *waiters):
        assert api.post(f"/events/{event_id}/registrations", json={"userId": user_id}).status_code == 201

    # When the capacity rises by two: the answer is the event as the write left it
    response = api.request("PUT", f"/events/{event_id}", json={"capacity": 3})
    assert response.status_code == 200, response.text
    raised_at = time.monotonic()

    # Then the eventChanges function promotes the first two in line within seconds
    confirmed: list[str] = []
    while time.monotonic() - raised_at < PROMOTION_DEADLINE:
        confirmed = [item["userId"] for item in api.get(f"/events/{event_id}/registrations").json()]
        if len(confirmed) == 3:
            break
        time.sleep(0.05)
    TIMINGS["promotion after PUT capacity (s)"] = time.monotonic() - raised_at
    assert confirmed == [holder, *waiters[:2]], f"not promoted within {PROMOTION_DEADLINE:.0f} s:\n{api.log_tail()}"
    waitlist = api.get(f"/events/{event_id}/waitlist").json()
    assert [(item["userId"], item["position"]) for item in waitlist] == [(waiters[2], 1)]


def test_deleting_a_large_event_hides_it_at_once_and_the_background_removes_the_rest(api: LocalStack) -> None:
    # Given an event too large to delete in one transaction: 5 confirmed and 50 waiting
    event_id = create_event(api, capacity=5, waitlistEnabled=True)["eventId"]
    people = [create_user(api, f"Person {n}") for n in range(55)]
    for user_id in people:
        assert api.post(f"/events/{event_id}/registrations", json={"userId": user_id}).status_code == 201

    # When it is deleted, then it is 404 at once, in every list too
    response = api.delete(f"/events/{event_id}")
    assert response.status_code == 200, response.text
    deleted_at = time.monotonic()
    assert_detail(api.get(f"/events/{event_id}"), 404)
    assert api.get(f"/users/{people[0]}/registrations").json() == []
    assert api.get(f"/users/{people[-1]}/waitlist").json() == []

    # And within seconds the background has removed everything: the id is free again
    while True:
        again = api.post("/events", json={**EVENT_BODY, "eventId": event_id})
        if again.status_code == 201 or time.monotonic() - deleted_at > PROMOTION_DEADLINE:
            break
        assert again.status_code == 409 and "still being deleted" in again.json()["detail"], again.text
        time.sleep(0.1)
    TIMINGS["large event deleted in the background (s)"] = time.monotonic() - deleted_at
    assert again.status_code == 201, f"not finished within {PROMOTION_DEADLINE:.0f} s:\n{api.log_tail()}"
    assert (again.json()["registeredCount"], again.json()["waitlistCount"]) == (0, 0)
    assert api.get(f"/events/{event_id}/registrations").json() == []
    assert api.get(f"/events/{event_id}/waitlist").json() == []


EVENT_BODY = {"title": "Again", "date": "2026-12-01", "location": "Hall", "organizer": "Org"}


def test_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    """A second stack, on an external DynamoDB (DYNAMODB_ENDPOINT): its tables get created there,
    and Ctrl-C (SIGINT to the foreground process group) leaves no process behind and the external
    DynamoDB untouched."""
    dynamodb = EmbeddedDynamoDB("127.0.0.1", 0).start()
    try:
        stack = start_stack(tmp_path / "local-run.log", DYNAMODB_ENDPOINT=dynamodb.endpoint)
        try:
            assert stack.get("/events").status_code == 200
            client = boto3.client("dynamodb", endpoint_url=dynamodb.endpoint, region_name="us-east-1")
            tables = set(client.list_tables()["TableNames"])
            assert {d["TableName"] for d in config.table_definitions()} <= tables
            assert len(stack.leftovers()) >= 3, "expected local.run, node and function processes"

            started = time.monotonic()
            status = stack.stop(signal.SIGINT)
            TIMINGS["stop on Ctrl-C (s)"] = time.monotonic() - started
            left = stack.leftovers()
            assert not left, f"processes left after Ctrl-C:\n{describe(left)}"
            assert status == 0, stack.log_tail()
            assert "stopped (SIGINT)" in stack.log_path.read_text(errors="replace")
        finally:
            stack.stop(signal.SIGKILL)
            stack.kill_leftovers()
        assert client.list_tables()["TableNames"], "the external DynamoDB must outlive the stack"
    finally:
        dynamodb.stop()
