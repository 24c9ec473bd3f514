"""What a function does in DynamoDB stays within its `GRANTS` (which tests/unit/test_template.py
holds its packaged IAM role to): every call the routes, the stream consumers and the
reconciliation make in runs that exercise their paths is recorded as IAM actions on tables (a
transaction as the action of each of its items) and checked against the module's grants. moto
enforces no IAM, so without this a new read (the seats read before a batched promotion) would
only fail as AccessDenied once deployed."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from shared.config import get_settings
from shared.repositories.dynamo import get_client
from tests.builders import ApiClient, LambdaContext
from tests.helpers import (
    delivered,
    delivered_event_changes,
    event_body,
    full_event_with_waiters,
    invoke_event_changes,
    invoke_promotion,
    make_users,
    register,
)

pytestmark = pytest.mark.usefixtures("fast_transactions")

TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


class FullRun(LambdaContext):
    """A scheduled invocation with its whole timeout ahead (the job stops 15 s before the end)."""

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def logical_tables() -> dict[str, str]:
    settings = get_settings()
    return {
        settings.events_table: "EventsTable",
        settings.users_table: "UsersTable",
        settings.registrations_table: "RegistrationsTable",
        settings.waitlist_table: "WaitlistTable",
        settings.idempotency_table: "IdempotencyTable",
    }


@contextmanager
def recorded_actions() -> Iterator[set[tuple[str, str]]]:
    """(IAM action, table logical id, `/index/<name>` for an index) of every DynamoDB call made meanwhile."""
    tables = logical_tables()
    seen: set[tuple[str, str]] = set()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                [(kind, action)] = item.items()
                seen.add((f"dynamodb:{TRANSACT_ACTIONS[kind]}", tables[action["TableName"]]))
        elif model.name == "BatchGetItem":
            seen.update(("dynamodb:BatchGetItem", tables[table]) for table in params["RequestItems"])
        else:
            target = tables[params["TableName"]]
            if "IndexName" in params:
                target += f"/index/{params['IndexName']}"
            seen.add((f"dynamodb:{model.name}", target))

    events = get_client().meta.events
    events.register("provide-client-params.dynamodb", record, unique_id="grants-cover-calls")
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.dynamodb", unique_id="grants-cover-calls")


def assert_granted(module: Any, seen: set[tuple[str, str]]) -> None:
    missing = sorted((action, table) for action, table in seen if table not in module.GRANTS.get(action, set()))
    assert seen, "the run made no DynamoDB call: nothing was checked"
    assert not missing, f"{module.__name__} calls what its GRANTS (and so its IAM role) do not allow: {missing}"


def test_promotion_stays_within_its_grants(api: ApiClient, streams: Any) -> None:
    from functions.promotion import handler

    event_id, holders, _ = full_event_with_waiters(api, capacity=2, waiting=3)
    for holder in holders:
        api.delete(f"/events/{event_id}/registrations/{holder}")
    records = delivered(streams)
    with recorded_actions() as seen:
        assert invoke_promotion(records) == {"batchItemFailures": []}
    assert ("dynamodb:UpdateItem", "RegistrationsTable") in seen  # somebody was promoted
    assert_granted(handler, seen)


def test_event_changes_stays_within_its_grants(api: ApiClient, streams: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.event_changes import handler
    from shared.repositories import deletion

    # A capacity raise with people waiting, and a large event deleted in the background
    raised, _, _ = full_event_with_waiters(api, capacity=1, waiting=2)
    assert api.put(f"/events/{raised}", {"capacity": 3}).status == 200
    monkeypatch.setattr(deletion, "AT_ONCE_ROWS", 0)
    deleted, _, _ = full_event_with_waiters(api, capacity=1, waiting=1)
    assert api.delete(f"/events/{deleted}").status == 200
    records = delivered_event_changes(streams)
    with recorded_actions() as seen:
        assert invoke_event_changes(records) == {"batchItemFailures": []}
    assert ("dynamodb:UpdateItem", "RegistrationsTable") in seen  # the raise promoted
    assert ("dynamodb:DeleteItem", "EventsTable") in seen  # the deletion finished
    assert_granted(handler, seen)


def test_reconcile_stays_within_its_grants(api: ApiClient) -> None:
    from functions.reconcile import handler

    # Someone stranded beside a free seat (a counter drifted), for the job to repair and promote
    event_id, holders, _ = full_event_with_waiters(api, capacity=1, waiting=1)
    get_client().delete_item(
        TableName=get_settings().registrations_table,
        Key={"eventId": {"S": event_id}, "userId": {"S": holders[0]}},
    )
    [late] = make_users(api, 1)
    register(api, event_id, late)
    with recorded_actions() as seen:
        handler.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, FullRun())
    assert ("dynamodb:UpdateItem", "RegistrationsTable") in seen  # the repair promoted
    assert_granted(handler, seen)


def test_every_route_stays_within_its_grants(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.idempotency import HEADER
    from shared.repositories import deletion

    # The main flows, each request checked against the grants of the function that serves it
    def checked(method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        with recorded_actions() as seen:
            response = api.request(method, path, body, **kwargs)
        assert response.status < 500, (method, path, response.body)
        module = importlib.import_module(api.handler_for(method, path.split("?")[0])[0])
        assert_granted(module, seen)
        return response

    event = checked("POST", "/events", event_body(capacity=1, waitlistEnabled=True), headers={HEADER: "k-event"}).body
    event_id = event["eventId"]
    people = [
        checked("POST", "/users", {"name": f"P{n}"}, headers={HEADER: f"k-user-{n}"}).body["userId"] for n in range(4)
    ]
    for n, person in enumerate(people):
        checked("POST", f"/events/{event_id}/registrations", {"userId": person}, headers={HEADER: f"k-reg-{n}"})
    for path in (
        "/events",
        "/events?status=scheduled",
        f"/events/{event_id}",
        f"/events/{event_id}/registrations",
        f"/events/{event_id}/waitlist",
        f"/users/{people[0]}",
        f"/users/{people[0]}/registrations",
        f"/users/{people[3]}/waitlist",
    ):
        checked("GET", path)
    checked("PUT", f"/events/{event_id}", {"capacity": 2, "title": "Bigger"})
    checked("DELETE", f"/events/{event_id}/registrations/{people[3]}")  # waiting
    checked("DELETE", f"/events/{event_id}/registrations/{people[0]}")  # confirmed
    checked("DELETE", f"/events/{event_id}")  # small: at once
    large = checked("POST", "/events", event_body(capacity=1)).body["eventId"]
    checked("POST", f"/events/{large}/registrations", {"userId": people[1]})
    monkeypatch.setattr(deletion, "AT_ONCE_ROWS", 0)
    checked("DELETE", f"/events/{large}")  # large: marked, finished in the background
    assert checked("POST", "/events", event_body(eventId=large)).status == 409  # still being deleted
