"""A 20,000-entry waitlist on one event, read through the handlers with DynamoDB's real 1 MB page
(the embedded DynamoDB's AWS limits mode, the queue two pages long): every position is exact
(ticket - promoted - leavers below it, shared/repositories/queue.py) at the head, the middle and
the tail, before and after people leave from the head and the middle, and for a newcomer joining
behind them all; and a position costs a bounded number of reads whatever the queue's length."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import config
from local.limits import PAGE_BYTES, aws_limits, item_size
from shared.api.pagination import encode_token
from shared.config import get_settings
from shared.repositories.dynamo import serialize, value
from tests.builders import ApiClient
from tests.helpers import make_event, make_users, register, reset_process_caches
from tests.invariants import check_invariants

pytestmark = pytest.mark.aws_limits()

WAITING = 20_000


class Line:
    """The event, its one confirmed holder, and the seeded queue: user n (1-based) holds ticket n,
    as the first n joins take them."""

    def __init__(self, api: ApiClient, client: Any, event_id: str) -> None:
        self.api, self.client, self.event_id = api, client, event_id

    @staticmethod
    def user(n: int) -> str:
        return f"waiter-{n:05d}"

    @staticmethod
    def ticket(n: int) -> int:
        return n

    def position_of(self, n: int) -> int:
        response = self.api.get(f"/users/{self.user(n)}/waitlist")
        assert response.status == 200, response.body
        [entry] = response.body
        return int(entry["position"])

    def page_after(self, n: int, limit: int = 100) -> tuple[list[tuple[str, int]], str | None]:
        """The event's waitlist page that starts after user n (a signed token at n's entry)."""
        scope = f"events/{self.event_id}/waitlist"
        cursor = {"eventId": value(self.event_id), "position": value(self.ticket(n))}
        response = self.api.get(
            f"/events/{self.event_id}/waitlist?limit={limit}&nextToken={encode_token(scope, cursor)}"
        )
        assert response.status == 200, response.body
        return [(w["userId"], w["position"]) for w in response.body], response.headers.get("x-next-token")


@pytest.fixture(scope="module")
def line() -> Iterator[Line]:
    started = time.monotonic()
    with mock_aws(), aws_limits():
        reset_process_caches()
        client = boto3.client("dynamodb", region_name="us-east-1")
        config.create_tables(client)
        config.create_event_buses(boto3.client("events", region_name="us-east-1"))
        api = ApiClient()
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        [holder] = make_users(api, 1)
        assert register(api, event_id, holder).body["status"] == "confirmed"
        seed(client, event_id)
        print(f"\nseeded {WAITING} waiting in {time.monotonic() - started:.1f} s")
        yield Line(api, client, event_id)
    reset_process_caches()


def seed(client: Any, event_id: str) -> None:
    """What 20,000 joins would have stored, written 25 items a call: each user, their `waitlisted`
    marker and their Waitlist entry; then the event's counters to match (one update)."""
    settings = get_settings()
    generation = client.get_item(TableName=settings.events_table, Key={"eventId": value(event_id)})["Item"]
    added = "2026-11-25T12:00:00.000000+00:00"
    rows: list[tuple[str, dict[str, Any]]] = []
    for n in range(1, WAITING + 1):
        user, ticket = Line.user(n), Line.ticket(n)
        rows.append((settings.users_table, {"userId": user, "name": f"Waiter {n}", "createdAt": added}))
        marker = {"eventId": event_id, "userId": user, "status": "waitlisted", "ticket": ticket, "addedAt": added}
        marker["generation"] = generation["generation"]["S"]
        rows.append((settings.registrations_table, marker))
        entry = {"eventId": event_id, "position": ticket, "userId": user, "addedAt": added}
        rows.append((settings.waitlist_table, entry))
    for start in range(0, len(rows), 25):
        batch: dict[str, list[dict[str, Any]]] = {}
        for table, item in rows[start : start + 25]:
            batch.setdefault(table, []).append({"PutRequest": {"Item": serialize(item)}})
        assert not client.batch_write_item(RequestItems=batch)["UnprocessedItems"]
    client.update_item(
        TableName=settings.events_table,
        Key={"eventId": value(event_id)},
        UpdateExpression="SET waitlistCount = :waiting, waitlistSeq = :last ADD counterVersion :one",
        ExpressionAttributeValues={
            ":waiting": value(WAITING),
            ":last": value(Line.ticket(WAITING)),
            ":one": value(1),
        },
    )


def test_the_waitlist_is_longer_than_one_dynamodb_page(line: Line) -> None:
    entry = {"eventId": line.event_id, "position": Line.ticket(WAITING), "userId": Line.user(WAITING)}
    entry["addedAt"] = "2026-11-25T12:00:00.000000+00:00"
    assert item_size(serialize(entry)) * WAITING > PAGE_BYTES
    first = line.client.query(
        TableName=get_settings().waitlist_table,
        KeyConditionExpression="eventId = :event",
        ExpressionAttributeValues={":event": value(line.event_id)},
        Select="COUNT",
    )
    # One page holds 1 MiB of entries (~11,000 of these), so the 20,000 take two pages
    assert "LastEvaluatedKey" in first and first["Count"] < WAITING


def test_positions_at_the_head_middle_and_tail_count_every_entry_ahead(line: Line) -> None:
    started = time.monotonic()
    assert [line.position_of(n) for n in (1, 2, 10_000, WAITING)] == [1, 2, 10_000, WAITING]
    first = line.api.get(f"/events/{line.event_id}/waitlist?limit=100")
    assert [(w["userId"], w["position"]) for w in first.body] == [(Line.user(n), n) for n in range(1, 101)]
    middle, token = line.page_after(9_999)
    assert middle == [(Line.user(n), n) for n in range(10_000, 10_100)] and token
    tail, token = line.page_after(WAITING - 50)
    assert tail == [(Line.user(n), n) for n in range(WAITING - 49, WAITING + 1)] and token is None
    print(f"\npositions read in {time.monotonic() - started:.1f} s")


def test_positions_move_up_when_people_leave_from_the_head_and_the_middle(line: Line) -> None:
    # When the first two, one in the middle and one near the tail leave
    leaving = [1, 2, 7_000, 15_000]
    for n in leaving:
        response = line.api.delete(f"/events/{line.event_id}/registrations/{Line.user(n)}")
        assert response.status == 200, response.body

    # Then everyone behind moves up by the number who left ahead of them, and a newcomer queues last
    def expected(n: int) -> int:
        return n - sum(1 for gone in leaving if gone < n)

    assert [line.position_of(n) for n in (3, 6_999, 7_001, 10_000, WAITING)] == [
        1,
        6_997,
        6_998,
        9_997,
        WAITING - 4,
    ]
    page, _ = line.page_after(6_998, limit=5)
    assert page == [(Line.user(n), expected(n)) for n in (6_999, 7_001, 7_002, 7_003, 7_004)]
    [newcomer] = make_users(line.api, 1)
    joined = register(line.api, line.event_id, newcomer)
    assert (joined.status, joined.body["status"], joined.body["position"]) == (201, "waitlisted", WAITING - 3)
    state = check_invariants(line.client, line.event_id, quiet=True)
    assert len(state["waitlist"]) == WAITING - 3
