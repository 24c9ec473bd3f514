"""Waitlist positions on long queues: what a position costs in DynamoDB reads, now and with the
COUNT query the previous design ran for it.

For each queue length (seeded straight into moto, as the tests seed long queues, then 1 % of the
queue leaving through the shipped code, so that the tree of leavers is in use): a newcomer's join
(calls, items read), the position of a user at the head, the middle and the tail read through
`GET /users/{id}/waitlist`'s manager (items read, ms), a later page of the event's waitlist, and
what the previous design's COUNT (`Select=COUNT` up to the ticket, paged to the end) read for the
same positions. Items read are what DynamoDB bills reads by (a COUNT bills every item it counts).

    .venv/bin/python -m bench.positions --lengths 1000 20000 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import time
from collections import Counter
from typing import Any

from bench.common import in_process_dynamodb, median, write_json


class Reads:
    """Counts the DynamoDB calls of the shared client and the items each read returned."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        self.items = 0
        self.written = 0
        client.meta.events.register("after-call.dynamodb", self._after)
        client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", self._before_transaction)

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        if model.name in ("Query", "Scan"):
            self.items += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif model.name == "BatchGetItem":
            self.items += sum(len(items) for items in parsed.get("Responses", {}).values())
        elif model.name == "GetItem":
            self.items += "Item" in parsed

    def _before_transaction(self, params: dict[str, Any], **_: Any) -> None:
        self.written += len(params.get("TransactItems", []))

    @contextlib.contextmanager
    def measuring(self) -> Any:
        self.calls, self.items, self.written = [], 0, 0
        started = time.perf_counter()
        result: dict[str, Any] = {}
        yield result
        result.update(
            calls=list(self.calls),
            items_read=self.items,
            items_written=self.written,
            ms=(time.perf_counter() - started) * 1000,
        )


def count_design(client: Any, table: str, event_id: str, ticket: int) -> dict[str, Any]:
    """What the previous design read for one position: a COUNT of the entries up to the ticket."""
    from shared.repositories.dynamo import pages

    started = time.perf_counter()
    counted = pages_read = 0
    for page in pages(
        client,
        "query",
        TableName=table,
        KeyConditionExpression="eventId = :event AND #position <= :ticket",
        ExpressionAttributeNames={"#position": "position"},
        ExpressionAttributeValues={":event": {"S": event_id}, ":ticket": {"N": str(ticket)}},
        Select="COUNT",
        ConsistentRead=True,
    ):
        counted += int(page["Count"])
        pages_read += 1
    return {
        "position": counted,
        "items_read": counted,
        "pages": pages_read,
        "ms": (time.perf_counter() - started) * 1000,
    }


def one_length(length: int) -> dict[str, Any]:
    import boto3

    from local import config
    from shared.config import get_settings
    from shared.managers import events, registrations, users, waitlist
    from shared.models.requests import EventCreate, UserCreate
    from shared.repositories.dynamo import get_client
    from tests.helpers import reset_process_caches, seed_children

    reset_process_caches()
    config.create_tables(boto3.client("dynamodb", region_name="us-east-1"))
    event_id = f"queue-{length}"
    with contextlib.redirect_stdout(io.StringIO()):
        events.default().create(
            EventCreate.model_validate(
                {
                    "eventId": event_id,
                    "title": "Queue",
                    "date": "2026-12-01",
                    "location": "Hall A",
                    "organizer": "Ada",
                    "capacity": 1,
                    "waitlistEnabled": True,
                }
            )
        )
        _, waiters = seed_children(event_id, confirmed=1, waiting=length, prefix=f"q{length}")
        newcomer = users.default().create(UserCreate(userId=f"new-{length}", name="New")).userId
    reads = Reads(get_client())
    chooser = random.Random(length)
    leaving = sorted(chooser.sample(range(1, length - 1), max(length // 100, 1)))
    leaves = []
    with contextlib.redirect_stdout(io.StringIO()):
        for n in leaving:
            with reads.measuring() as leave:
                registrations.default().unregister_user(event_id, waiters[n])
            leaves.append(leave)
        with reads.measuring() as join:
            joined = registrations.default().register_user(event_id, newcomer)
    gone = set(leaving)
    remaining = [user for n, user in enumerate(waiters) if n not in gone] + [newcomer]
    manager = waitlist.default()
    table = get_settings().waitlist_table
    points = {"head": 0, "middle": len(remaining) // 2, "tail": len(remaining) - 1}
    positions: dict[str, Any] = {}
    for name, index in points.items():
        with contextlib.redirect_stdout(io.StringIO()), reads.measuring() as read:
            [entry] = manager.list_for_user(remaining[index], 10, None).items
        marker = get_client().get_item(
            TableName=get_settings().registrations_table,
            Key={"eventId": {"S": event_id}, "userId": {"S": remaining[index]}},
        )["Item"]
        positions[name] = {
            "expected": index + 1,
            "position": entry["position"],
            "read": read,
            "count_design": count_design(get_client(), table, event_id, int(marker["ticket"]["N"])),
        }
    cursor = {"eventId": {"S": event_id}, "position": {"N": str(length // 2)}}
    with contextlib.redirect_stdout(io.StringIO()), reads.measuring() as page:
        later = manager.list_for_event(event_id, 100, cursor).items
    first_after = length // 2 + 1
    while first_after - 1 in gone:
        first_after += 1
    page_expected = first_after - sum(1 for n in gone if n + 1 < first_after)
    return {
        "length": length,
        "left": len(leaving),
        "leave_items_written": median([float(leave["items_written"]) for leave in leaves]),
        "leave_ms_median": median([leave["ms"] for leave in leaves]),
        "join": {
            "calls": join["calls"],
            "items_read": join["items_read"],
            "ms": join["ms"],
            "position": getattr(joined, "position", None),
            "expected": len(remaining),
        },
        "positions": positions,
        "later_page": {
            "calls": page["calls"],
            "items_read": page["items_read"],
            "ms": page["ms"],
            "first_position": later[0]["position"] if later else None,
            "expected": page_expected,
        },
        "exact": all(p["position"] == p["expected"] for p in positions.values())
        and getattr(joined, "position", None) == len(remaining)
        and bool(later)
        and later[0]["position"] == page_expected,
        "calls": dict(Counter(reads.calls)),
    }


def run(lengths: list[int]) -> dict[str, Any]:
    in_process_dynamodb()
    from moto import mock_aws

    results = []
    for length in lengths:
        with mock_aws():
            results.append(one_length(length))
    return {"queues": results}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", type=int, nargs="+", default=[1_000, 20_000])
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    write_json(args.json, run(args.lengths))


if __name__ == "__main__":
    main()
