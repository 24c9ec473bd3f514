"""SPEC.md's invariants, checked against what DynamoDB actually stores (every item of the event)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shared.config import get_settings
from shared.models.domain import WaitlistEntry
from shared.repositories.dynamo import deserialize, pages
from shared.repositories.queue import queue_state
from shared.repositories.waitlist import WaitlistRepository


def _items_of(client: Any, table: str, event_id: str) -> list[dict[str, Any]]:
    responses = pages(
        client,
        "query",
        TableName=table,
        KeyConditionExpression="eventId = :event",
        ExpressionAttributeValues={":event": {"S": event_id}},
        ConsistentRead=True,
    )
    return [deserialize(item) for response in responses for item in response.get("Items", [])]


def snapshot(client: Any, event_id: str) -> dict[str, Any]:
    settings = get_settings()
    event = client.get_item(TableName=settings.events_table, Key={"eventId": {"S": event_id}}, ConsistentRead=True)
    registrations = _items_of(client, settings.registrations_table, event_id)
    waitlist = sorted(_items_of(client, settings.waitlist_table, event_id), key=lambda w: w["position"])
    return {
        "event": deserialize(event["Item"]) if "Item" in event else None,
        "confirmed": sorted(
            (r for r in registrations if r["status"] == "confirmed"), key=lambda r: (r["registeredAt"], r["userId"])
        ),
        "markers": [r for r in registrations if r["status"] == "waitlisted"],
        "waitlist": waitlist,
    }


def check_invariants(client: Any, event_id: str, *, quiet: bool = False) -> dict[str, Any]:
    """Asserts invariants 1-3 (and 5 when `quiet`: no request in flight, stream drained); returns
    the snapshot for further checks (4 and 6 need the history, which only the caller knows)."""
    state = snapshot(client, event_id)
    event = state["event"]
    assert event is not None, f"event {event_id} is gone"
    confirmed, markers, waitlist = state["confirmed"], state["markers"], state["waitlist"]
    capacity = event.get("capacity")
    # 1. never over capacity
    if capacity is not None:
        assert len(confirmed) <= capacity, f"{len(confirmed)} confirmed > capacity {capacity}"
    # 2. at most once per event: one Registrations item per user by key; each waiting user has
    #    exactly one waitlist entry and one marker, with the same ticket.
    waiting_users = Counter(w["userId"] for w in waitlist)
    assert all(n == 1 for n in waiting_users.values()), f"duplicate waitlist entries: {waiting_users}"
    assert {m["userId"]: m["ticket"] for m in markers} == {w["userId"]: w["position"] for w in waitlist}
    assert not {r["userId"] for r in confirmed} & set(waiting_users), "someone is both confirmed and waiting"
    # 3. counters equal the real counts
    assert event.get("registeredCount", 0) == len(confirmed), (event.get("registeredCount"), len(confirmed))
    assert event.get("waitlistCount", 0) == len(waitlist), (event.get("waitlistCount"), len(waitlist))
    # 3b. every ticket issued is waiting, promoted or left, and each waiting ticket's position
    #     (ticket - promoted - leavers below, from the tree) is its rank in the queue: 1..n
    issued = event.get("waitlistSeq", 0)
    accounted = event.get("promotedCount", 0) + event.get("leftCount", 0) + len(waitlist)
    assert issued == accounted, f"{issued} tickets issued, {accounted} waiting, promoted or left"
    entries = [WaitlistEntry(event_id, w["userId"], int(w["position"]), w["addedAt"]) for w in waitlist]
    positions = WaitlistRepository(client).positions(entries, {event_id: queue_state(event)})
    assert positions == list(range(1, len(waitlist) + 1)), f"positions {positions[:20]}…"
    # 5. quiet: anyone waiting means the event is full
    if quiet and waitlist:
        assert capacity is not None and len(confirmed) == capacity, "people wait beside a free seat"
    return state
