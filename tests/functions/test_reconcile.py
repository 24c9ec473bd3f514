"""Reconciliation (functions/reconcile, `make reconcile`): counters repaired from the items they
count, waiters stranded beside a free seat promoted, and nothing at all written on a healthy store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from functions.reconcile import handler
from local.config import ROOT
from shared.config import get_settings
from shared.managers import reconcile, waitlist
from shared.managers.reconcile import ReconcileManager
from shared.repositories.reconcile import ActualCounts, ReconcileRepository, StoredCounters
from tests.builders import ApiClient, LambdaContext
from tests.helpers import full_event_with_waiters, make_event, make_users, register, stored_items
from tests.invariants import check_invariants


def tables() -> list[str]:
    settings = get_settings()
    return [settings.events_table, settings.users_table, settings.registrations_table, settings.waitlist_table]


def set_counters(client: Any, event_id: str, **counters: int) -> None:
    """Corrupts an event on purpose, bypassing every transaction."""
    names = sorted(counters)
    client.update_item(
        TableName=get_settings().events_table,
        Key={"eventId": {"S": event_id}},
        UpdateExpression="SET " + ", ".join(f"{name} = :{name}" for name in names),
        ExpressionAttributeValues={f":{name}": {"N": str(counters[name])} for name in names},
    )


class ScheduledContext(LambdaContext):
    """The reconcile function's context: serverless.yml gives it 300 s."""

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def run_reconcile() -> dict[str, Any]:
    return handler.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, ScheduledContext())


def repair_of(report: dict[str, Any], event_id: str) -> dict[str, Any]:
    [repair] = [r for r in report["repaired"] if r["eventId"] == event_id]
    return repair


def healthy_store(api: ApiClient) -> list[str]:
    """Events in every shape reconciliation looks at, all consistent and quiet."""
    full_with_waiters, _, _ = full_event_with_waiters(api, capacity=2, waiting=3)
    unlimited = make_event(api)["eventId"]
    for user in make_users(api, 3):
        register(api, unlimited, user)
    half_full = make_event(api, capacity=5, waitlistEnabled=True)["eventId"]
    register(api, half_full, make_users(api, 1)[0])
    empty = make_event(api, capacity=1)["eventId"]
    draft = make_event(api, capacity=3, status="draft")["eventId"]
    one_left_the_line, _, waiters = full_event_with_waiters(api, capacity=1, waiting=2)
    api.delete(f"/events/{one_left_the_line}/registrations/{waiters[0]}")  # a waiter leaves: nobody to promote
    return [full_with_waiters, unlimited, half_full, empty, draft, one_left_the_line]


class TestRepairs:
    def test_corrupted_registered_count_is_repaired(self, api: ApiClient, dynamodb: Any) -> None:
        # Given an event whose registeredCount says 3 where 1 is confirmed
        event_id = make_event(api, capacity=5)["eventId"]
        register(api, event_id, make_users(api, 1)[0])
        set_counters(dynamodb, event_id, registeredCount=3)

        report = run_reconcile()

        assert repair_of(report, event_id) == {
            "eventId": event_id,
            "counters": {"registeredCount": {"from": 3, "to": 1}},
            "promoted": [],
        }
        assert report["skipped"] == [] and report["complete"] is True
        check_invariants(dynamodb, event_id, quiet=True)

    def test_corrupted_waitlist_count_is_repaired(self, api: ApiClient, dynamodb: Any) -> None:
        event_id, _, _ = full_event_with_waiters(api, capacity=1, waiting=2)
        set_counters(dynamodb, event_id, waitlistCount=0)

        report = run_reconcile()

        assert repair_of(report, event_id)["counters"] == {"waitlistCount": {"from": 0, "to": 2}}
        assert repair_of(report, event_id)["promoted"] == []
        check_invariants(dynamodb, event_id, quiet=True)

    def test_negative_counters_are_repaired(self, api: ApiClient, dynamodb: Any) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        set_counters(dynamodb, event_id, registeredCount=-4, waitlistCount=-1)

        report = run_reconcile()

        assert repair_of(report, event_id)["counters"] == {
            "registeredCount": {"from": -4, "to": 0},
            "waitlistCount": {"from": -1, "to": 0},
        }
        check_invariants(dynamodb, event_id, quiet=True)

    def test_waiter_stranded_beside_a_free_seat_is_promoted(self, api: ApiClient, dynamodb: Any) -> None:
        # Given a confirmed user removed without the stream's promotion ever running
        event_id, [holder], [first, second] = full_event_with_waiters(api, capacity=1, waiting=2)
        assert api.delete(f"/events/{event_id}/registrations/{holder}").status == 200
        with pytest.raises(AssertionError, match="free seat"):
            check_invariants(dynamodb, event_id, quiet=True)

        report = run_reconcile()

        # Then the head of the line, and only the head, takes the seat
        assert repair_of(report, event_id) == {"eventId": event_id, "counters": {}, "promoted": [first]}
        state = check_invariants(dynamodb, event_id, quiet=True)
        assert [r["userId"] for r in state["confirmed"]] == [first]
        assert [w["userId"] for w in state["waitlist"]] == [second]
        assert api.get(f"/events/{event_id}/waitlist").body[0]["position"] == 1

    def test_counter_that_blocks_seats_is_repaired_then_the_waitlist_promoted(
        self, api: ApiClient, dynamodb: Any
    ) -> None:
        # Given registeredCount stuck at capacity while two seats are really free, and three waiting
        event_id, holders, waiters = full_event_with_waiters(api, capacity=3, waiting=3)
        for holder in holders[:2]:
            api.delete(f"/events/{event_id}/registrations/{holder}")
        set_counters(dynamodb, event_id, registeredCount=3)

        report = run_reconcile()

        assert repair_of(report, event_id) == {
            "eventId": event_id,
            "counters": {"registeredCount": {"from": 3, "to": 1}},
            "promoted": waiters[:2],
        }
        state = check_invariants(dynamodb, event_id, quiet=True)
        assert {r["userId"] for r in state["confirmed"]} == {holders[2], *waiters[:2]}
        assert [w["userId"] for w in state["waitlist"]] == [waiters[2]]

    def test_counter_that_hides_a_full_event_is_repaired_without_overbooking(
        self, api: ApiClient, dynamodb: Any
    ) -> None:
        # Given a full event whose registeredCount claims a free seat (a registration would overbook)
        event_id, _, waiters = full_event_with_waiters(api, capacity=2, waiting=1)
        set_counters(dynamodb, event_id, registeredCount=1)

        report = run_reconcile()

        assert repair_of(report, event_id) == {
            "eventId": event_id,
            "counters": {"registeredCount": {"from": 1, "to": 2}},
            "promoted": [],
        }
        state = check_invariants(dynamodb, event_id, quiet=True)
        assert [w["userId"] for w in state["waitlist"]] == waiters

    def test_every_broken_event_is_repaired_in_one_run(self, api: ApiClient, dynamodb: Any) -> None:
        broken = [make_event(api, capacity=4)["eventId"] for _ in range(3)]
        healthy = healthy_store(api)
        for n, event_id in enumerate(broken):
            set_counters(dynamodb, event_id, registeredCount=n + 1)

        report = run_reconcile()

        assert report["checked"] == len(broken) + len(healthy)
        assert sorted(r["eventId"] for r in report["repaired"]) == sorted(broken)
        for event_id in broken + healthy:
            check_invariants(dynamodb, event_id, quiet=True)

    def test_a_second_run_finds_nothing_left(self, api: ApiClient, dynamodb: Any) -> None:
        event_id, [holder], _ = full_event_with_waiters(api, capacity=1, waiting=1)
        api.delete(f"/events/{event_id}/registrations/{holder}")
        set_counters(dynamodb, event_id, waitlistCount=7)
        assert run_reconcile()["repaired"]
        before = stored_items(dynamodb, tables())

        report = run_reconcile()

        assert report["repaired"] == [] and report["skipped"] == []
        assert stored_items(dynamodb, tables()) == before


class TestHealthyStore:
    def test_nothing_is_reported_and_nothing_written(self, api: ApiClient, dynamodb: Any) -> None:
        events = healthy_store(api)
        for event_id in events:
            check_invariants(dynamodb, event_id, quiet=True)
        before = stored_items(dynamodb, tables())

        report = run_reconcile()

        assert report == {
            "checked": len(events),
            "repaired": [],
            "skipped": [],
            "deletionsFinished": [],
            "complete": True,
        }
        assert stored_items(dynamodb, tables()) == before

    def test_no_write_request_is_even_sent(self, api: ApiClient, dynamodb: Any) -> None:
        healthy_store(api)
        sent: list[str] = []
        client = reconcile.default()._repository._client  # the manager's own client
        client.meta.events.register("before-call.dynamodb.*", lambda model, **_: sent.append(model.name))

        run_reconcile()

        assert set(sent) <= {"Scan", "GetItem", "Query"}, sent

    def test_empty_store(self, dynamodb: Any) -> None:
        assert run_reconcile() == {
            "checked": 0,
            "repaired": [],
            "skipped": [],
            "deletionsFinished": [],
            "complete": True,
        }

    def test_events_being_deleted_are_not_repaired_but_their_deletion_is_finished(
        self, api: ApiClient, dynamodb: Any
    ) -> None:
        # Given an event half-way through its deletion (its stream record lost), with counters that
        # no longer match, marked by a run from before generations existed
        event_id, [holder], _ = full_event_with_waiters(api, capacity=1, waiting=1)
        api.delete(f"/events/{event_id}/registrations/{holder}")
        dynamodb.update_item(
            TableName=get_settings().events_table,
            Key={"eventId": {"S": event_id}},
            UpdateExpression="SET deleting = :true, registeredCount = :n REMOVE generation",
            ExpressionAttributeValues={":true": {"BOOL": True}, ":n": {"N": "9"}},
        )
        before = {table: items for table, items in stored_items(dynamodb, tables()).items()}

        report = run_reconcile()

        # Then no counter is repaired, and the event and everything it held are gone
        assert report == {
            "checked": 0,
            "repaired": [],
            "skipped": [],
            "deletionsFinished": [event_id],
            "complete": True,
        }
        after = stored_items(dynamodb, tables())
        for table, items in after.items():
            assert not [item for item in items if event_id in item], table
            assert [item for item in before[table] if event_id not in item] == items, table
        # And a second run finds nothing to do
        assert run_reconcile()["deletionsFinished"] == []


class Hooked(ReconcileRepository):
    """The real repository, with something happening just before or just after each count
    (called with the count's number, from 1)."""

    def __init__(
        self, before_count: Callable[[int], Any] = lambda n: None, after_count: Callable[[int], Any] = lambda n: None
    ) -> None:
        super().__init__()
        self.counts = 0
        self.repairs: list[bool] = []
        self._before_count = before_count
        self._after_count = after_count

    def count(self, event_id: str) -> ActualCounts:
        self.counts += 1
        self._before_count(self.counts)
        actual = super().count(event_id)
        self._after_count(self.counts)
        return actual

    def repair(self, event_id: str, seen: StoredCounters, actual: ActualCounts) -> bool:
        done = super().repair(event_id, seen, actual)
        self.repairs.append(done)
        return done


class TestConcurrentWrites:
    def test_registration_between_the_reads_is_not_mistaken_for_drift(self, api: ApiClient, dynamodb: Any) -> None:
        # Given a healthy event and a registration that commits after the counters were read
        event_id = make_event(api, capacity=5)["eventId"]
        late, *_ = make_users(api, 1)
        repository = Hooked(before_count=lambda n: n == 1 and register(api, event_id, late))
        manager = ReconcileManager(repository, waitlist.default())

        outcome = manager.reconcile_event(event_id)

        # Then the first look disagreed, the second agreed, and nothing was written
        assert outcome is None and repository.counts == 2 and repository.repairs == []
        check_invariants(dynamodb, event_id, quiet=True)

    def test_a_write_racing_the_repair_makes_it_look_again(self, api: ApiClient, dynamodb: Any) -> None:
        # Given a corrupted counter (3 for 1 confirmed) and a registration landing just before the repair
        event_id = make_event(api, capacity=10)["eventId"]
        first, late = make_users(api, 2)
        register(api, event_id, first)
        set_counters(dynamodb, event_id, registeredCount=3)
        repository = Hooked(after_count=lambda n: n == 2 and register(api, event_id, late))
        manager = ReconcileManager(repository, waitlist.default())

        outcome = manager.reconcile_event(event_id)

        # Then the repair that would have erased the registration was refused, and the next one fixed it
        assert repository.repairs == [False, True]
        assert outcome is not None and not isinstance(outcome, reconcile.Skipped)
        assert outcome.counters == {"registeredCount": {"from": 4, "to": 2}}
        check_invariants(dynamodb, event_id, quiet=True)

    def test_conditional_repair_never_overwrites_moved_counters(self, api: ApiClient, dynamodb: Any) -> None:
        event_id = make_event(api, capacity=10)["eventId"]
        register(api, event_id, make_users(api, 1)[0])
        set_counters(dynamodb, event_id, registeredCount=3)
        repository = ReconcileRepository()
        seen = repository.counters(event_id)
        actual = repository.count(event_id)
        register(api, event_id, make_users(api, 1)[0])  # counters move: 4 stored, 2 real

        assert seen is not None and repository.repair(event_id, seen, actual) is False
        after = repository.counters(event_id)
        assert after is not None and (after.registeredCount, after.waitlistCount, after.capacity) == (4, 0, 10)

    def test_churn_that_restores_the_counters_never_passes_for_drift(self, api: ApiClient, dynamodb: Any) -> None:
        # Given capacity 2, two confirmed and three waiting (issue #10's ABA): twice in a row, a
        # confirmed user leaves between the job's counter read and its count, then (after the count)
        # the stream promotes the head and a newcomer joins, so the counters read the same again
        event_id, holders, _ = full_event_with_waiters(api, capacity=2, waiting=3)
        newcomers = iter(make_users(api, 2))
        leavers = iter(holders)
        promote = waitlist.default().promote_from_waitlist

        def leave(n: int) -> None:
            if n <= 2:
                assert api.delete(f"/events/{event_id}/registrations/{next(leavers)}").status == 200

        def refill(n: int) -> None:
            if n <= 2:
                assert promote(event_id) is not None
                assert register(api, event_id, next(newcomers)).body["status"] == "waitlisted"

        repository = Hooked(before_count=leave, after_count=refill)
        manager = ReconcileManager(repository, waitlist.default())

        manager.reconcile_event(event_id)

        # Then no repair was written from a count that the churn had left behind, and the event is
        # never overbooked: the counters move with a version the repair is conditional on
        state = check_invariants(dynamodb, event_id, quiet=True)
        assert state["event"]["registeredCount"] == 2 and state["event"]["waitlistCount"] == 3
        assert True not in repository.repairs

    def test_counters_that_never_settle_are_skipped_untouched(self, api: ApiClient, dynamodb: Any) -> None:
        # Given an event so busy that every look sees different counters
        event_id = make_event(api)["eventId"]
        users = iter(make_users(api, 10))
        repository = Hooked(before_count=lambda n: register(api, event_id, next(users)))
        manager = ReconcileManager(repository, waitlist.default(), attempts=4)

        outcome = manager.reconcile_event(event_id)

        assert isinstance(outcome, reconcile.Skipped) and "kept changing" in outcome.reason
        assert repository.repairs == []
        check_invariants(dynamodb, event_id, quiet=True)

    def test_waitlist_entries_without_their_markers_are_reported_not_touched(
        self, api: ApiClient, dynamodb: Any
    ) -> None:
        # Given a waitlist entry whose Registrations marker is gone (no code path does that)
        event_id, [holder], [waiter] = full_event_with_waiters(api, capacity=1, waiting=1)
        api.delete(f"/events/{event_id}/registrations/{holder}")
        dynamodb.delete_item(
            TableName=get_settings().registrations_table,
            Key={"eventId": {"S": event_id}, "userId": {"S": waiter}},
        )
        before = stored_items(dynamodb, tables())

        report = run_reconcile()

        assert report["repaired"] == []
        assert report["skipped"] == [
            {"eventId": event_id, "reason": "1 waitlist entries but 0 waitlisted registrations"}
        ]
        assert stored_items(dynamodb, tables()) == before

    def test_a_waitlist_ticket_gone_without_counting_is_reported_not_touched(
        self, api: ApiClient, dynamodb: Any
    ) -> None:
        # Given a waiter removed by hand, entry, marker and count alike, but not counted as left
        # (no code path does that): positions behind them would be one too far back
        event_id, _, [first, _second] = full_event_with_waiters(api, capacity=1, waiting=2)
        settings = get_settings()
        dynamodb.delete_item(
            TableName=settings.registrations_table, Key={"eventId": {"S": event_id}, "userId": {"S": first}}
        )
        dynamodb.delete_item(
            TableName=settings.waitlist_table, Key={"eventId": {"S": event_id}, "position": {"N": "1"}}
        )
        set_counters(dynamodb, event_id, waitlistCount=1)
        before = stored_items(dynamodb, tables())

        report = run_reconcile()

        # Then the counters agree with the items, but the tickets do not add up: reported, untouched
        assert report["repaired"] == []
        assert report["skipped"] == [
            {
                "eventId": event_id,
                "reason": "1 waitlist tickets are neither waiting, promoted nor left: positions behind them are off",
            }
        ]
        assert stored_items(dynamodb, tables()) == before


class TestHandlerAndCli:
    def test_handler_returns_a_json_report(self, api: ApiClient, dynamodb: Any) -> None:
        event_id = make_event(api, capacity=2)["eventId"]
        set_counters(dynamodb, event_id, registeredCount=2)

        report = run_reconcile()

        assert json.loads(json.dumps(report)) == report
        assert report["checked"] == 1 and report["complete"] is True

    def test_handler_stops_before_its_timeout(self, api: ApiClient, dynamodb: Any) -> None:
        make_event(api)["eventId"]

        class AlmostOut(LambdaContext):
            def get_remaining_time_in_millis(self) -> int:
                return 5_000

        report = handler.lambda_handler({}, AlmostOut())

        assert report == {"checked": 0, "repaired": [], "skipped": [], "deletionsFinished": [], "complete": False}

    def test_cli_repairs_the_dynamodb_at_its_endpoint(self, live_dynamodb: Any, server: str) -> None:
        # Given, in a running DynamoDB, a stranded waiter and a corrupted counter
        api = ApiClient()
        event_id, [holder], [waiter] = full_event_with_waiters(api, capacity=1, waiting=1)
        api.delete(f"/events/{event_id}/registrations/{holder}")
        set_counters(live_dynamodb, event_id, waitlistCount=5)
        env = {key: value for key, value in os.environ.items() if not key.endswith("_TABLE")}
        env["DYNAMODB_ENDPOINT"] = server

        result = subprocess.run(
            [sys.executable, "-m", "local.reconcile"], cwd=ROOT, env=env, capture_output=True, timeout=60, check=False
        )

        assert result.returncode == 0, result.stderr.decode()
        report = json.loads(result.stdout)
        assert repair_of(report, event_id) == {
            "eventId": event_id,
            "counters": {"waitlistCount": {"from": 5, "to": 1}},
            "promoted": [waiter],
        }
        check_invariants(live_dynamodb, event_id, quiet=True)

    def test_cli_targets_dynamodb_port_like_make_run(self, live_dynamodb: Any, server: str) -> None:
        # Given `DYNAMODB_PORT=… make run` (no DYNAMODB_ENDPOINT) and a stranded waiter there
        api = ApiClient()
        event_id, [holder], [waiter] = full_event_with_waiters(api, capacity=1, waiting=1)
        api.delete(f"/events/{event_id}/registrations/{holder}")
        env = {key: value for key, value in os.environ.items() if not key.endswith("_TABLE")}
        env.pop("DYNAMODB_ENDPOINT", None)
        env["DYNAMODB_PORT"] = str(urlsplit(server).port)

        result = subprocess.run(
            [sys.executable, "-m", "local.reconcile"], cwd=ROOT, env=env, capture_output=True, timeout=60, check=False
        )

        assert result.returncode == 0, result.stderr.decode()
        assert repair_of(json.loads(result.stdout), event_id)["promoted"] == [waiter]

    def test_cli_says_when_dynamodb_is_unreachable(self) -> None:
        env = {**os.environ, "DYNAMODB_ENDPOINT": "http://127.0.0.1:9"}

        result = subprocess.run(
            [sys.executable, "-m", "local.reconcile"], cwd=ROOT, env=env, capture_output=True, timeout=120, check=False
        )

        assert result.returncode == 1
        assert result.stdout == b""
        assert b"cannot reconcile at http://127.0.0.1:9" in result.stderr
