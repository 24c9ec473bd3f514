"""What a background function does in DynamoDB stays within its `GRANTS` (which
tests/unit/test_template.py holds its packaged IAM role to): every call the stream consumers and
the reconciliation make in a run that exercises their paths is recorded as IAM actions on tables
(a transaction as the action of each of its items) and checked against the module's grants. moto
enforces no IAM, so without this a new read (the seats read before a batched promotion) would
only fail as AccessDenied once deployed."""

from __future__ import annotations

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
    }


@contextmanager
def recorded_actions() -> Iterator[set[tuple[str, str]]]:
    """(IAM action, table logical id) of every DynamoDB call made meanwhile."""
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
            seen.add((f"dynamodb:{model.name}", tables[params["TableName"]]))

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
