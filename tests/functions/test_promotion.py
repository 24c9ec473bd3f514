"""The promotion function, fed with the real records of the moto Registrations stream."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from shared.config import get_settings
from shared.managers import promotion as promotion_manager
from shared.managers import waitlist
from shared.repositories.dynamo import get_client
from shared.repositories.waitlist import WaitlistRepository
from tests.builders import ApiClient, stream_records
from tests.helpers import delivered, full_event_with_waiters, invoke_promotion, make_event, make_users, register
from tests.invariants import check_invariants, snapshot


def confirmed(api: ApiClient, event_id: str) -> list[str]:
    return [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body]


def test_filter_passes_only_removed_confirmed_registrations(api: ApiClient, streams: Any) -> None:
    event_id, holders, waiters = full_event_with_waiters(api, capacity=1, waiting=2)
    api.delete(f"/events/{event_id}/registrations/{waiters[1]}")  # a waitlisted marker goes: REMOVE, not confirmed
    api.delete(f"/events/{event_id}/registrations/{holders[0]}")

    records = delivered(streams)

    assert [(r["eventName"], r["dynamodb"]["OldImage"]["userId"]["S"]) for r in records] == [("REMOVE", holders[0])]


def test_head_of_waitlist_is_promoted_from_the_stream(api: ApiClient, streams: Any) -> None:
    # Given a full event with two people waiting
    event_id, holders, waiters = full_event_with_waiters(api, capacity=2, waiting=2)
    # When a confirmed attendee leaves and the stream delivers the removal
    api.delete(f"/events/{event_id}/registrations/{holders[0]}")
    result = invoke_promotion(delivered(streams))
    # Then the head of the waitlist holds the seat and the next one moves up
    assert result == {"batchItemFailures": []}
    assert confirmed(api, event_id) == [holders[1], waiters[0]]
    assert [(w["userId"], w["position"]) for w in api.get(f"/events/{event_id}/waitlist").body] == [(waiters[1], 1)]
    check_invariants(get_client(), event_id, quiet=True)


def test_promotion_costs_one_round_trip_per_seat_and_one_read_per_ten(api: ApiClient, streams: Any) -> None:
    event_id, holders, _ = full_event_with_waiters(api, capacity=2, waiting=3)
    for holder in holders:
        api.delete(f"/events/{event_id}/registrations/{holder}")
    calls: list[str] = []
    get_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))

    promoted = waitlist.default().promote_all(event_id)

    assert len(promoted) == 2
    # one read of the first ten in line (three wait), a transaction per seat, one refused to stop
    assert calls == ["Query", "TransactWriteItems", "TransactWriteItems", "TransactWriteItems"]


def test_replaying_the_same_batch_changes_nothing(api: ApiClient, streams: Any) -> None:
    event_id, holders, _ = full_event_with_waiters(api, capacity=1, waiting=2)
    api.delete(f"/events/{event_id}/registrations/{holders[0]}")
    batch = delivered(streams)
    invoke_promotion(batch)
    after_first = snapshot(get_client(), event_id)

    assert invoke_promotion(batch) == {"batchItemFailures": []}
    assert invoke_promotion(batch) == {"batchItemFailures": []}

    assert snapshot(get_client(), event_id) == after_first
    check_invariants(get_client(), event_id, quiet=True)


def test_a_failing_record_is_reported_alone(api: ApiClient, streams: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    good_event, good_holders, good_waiters = full_event_with_waiters(api, capacity=1, waiting=1)
    bad_event, bad_holders, _ = full_event_with_waiters(api, capacity=1, waiting=1)
    api.delete(f"/events/{bad_event}/registrations/{bad_holders[0]}")
    api.delete(f"/events/{good_event}/registrations/{good_holders[0]}")
    batch = delivered(streams)
    real = waitlist.default().promote_all

    def flaky(event_id: str) -> list[str]:
        if event_id == bad_event:
            raise RuntimeError("DynamoDB went away")
        return real(event_id)

    monkeypatch.setattr(waitlist.default(), "promote_all", flaky)
    result = invoke_promotion(batch)

    bad_sequence = next(
        r["dynamodb"]["SequenceNumber"] for r in batch if r["dynamodb"]["Keys"]["eventId"]["S"] == bad_event
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": bad_sequence}]}
    assert confirmed(api, good_event) == [good_waiters[0]]
    monkeypatch.undo()
    # The retry (Lambda redelivers from the failed record) finishes the job.
    assert invoke_promotion([r for r in batch if r["dynamodb"]["SequenceNumber"] >= bad_sequence]) == {
        "batchItemFailures": []
    }
    check_invariants(get_client(), bad_event, quiet=True)
    check_invariants(get_client(), good_event, quiet=True)


def test_a_crash_half_way_is_finished_by_the_retry(
    api: ApiClient, streams: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two seats freed with three people waiting
    event_id, holders, waiters = full_event_with_waiters(api, capacity=2, waiting=3)
    for holder in holders:
        api.delete(f"/events/{event_id}/registrations/{holder}")
    batch = delivered(streams)
    real_promote = WaitlistRepository.try_promote
    promotions = {"done": 0}

    def crash_after_first(self: WaitlistRepository, entry: Any, now: str) -> bool | None:
        if promotions["done"] == 1:
            raise ConnectionError("Lambda lost its network half-way")
        outcome = real_promote(self, entry, now)
        promotions["done"] += bool(outcome)
        return outcome

    # When the first run crashes after one promotion
    monkeypatch.setattr(WaitlistRepository, "try_promote", crash_after_first)
    first = invoke_promotion(batch)
    assert first["batchItemFailures"], "the crash must be reported so Lambda retries"
    assert confirmed(api, event_id) == [waiters[0]]
    check_invariants(get_client(), event_id)
    monkeypatch.undo()
    # Then the retry promotes the next in line, nobody skipped, nobody twice
    assert invoke_promotion(batch) == {"batchItemFailures": []}
    assert confirmed(api, event_id) == waiters[:2]
    assert [w["userId"] for w in api.get(f"/events/{event_id}/waitlist").body] == [waiters[2]]
    check_invariants(get_client(), event_id, quiet=True)


def test_deleting_an_event_promotes_nobody(api: ApiClient, streams: Any) -> None:
    event_id, holders, waiters = full_event_with_waiters(api, capacity=2, waiting=2)
    api.delete(f"/events/{event_id}")

    batch = delivered(streams)
    assert len(batch) == 2  # the two confirmed registrations went
    assert invoke_promotion(batch) == {"batchItemFailures": []}

    assert api.get(f"/users/{waiters[0]}/registrations").body == []
    settings = get_settings()
    for table in (settings.registrations_table, settings.waitlist_table, settings.events_table):
        items = get_client().scan(TableName=table)["Items"]
        assert not [i for i in items if i["eventId"]["S"] == event_id], table


def test_no_seat_or_nobody_waiting_is_a_success(api: ApiClient, streams: Any) -> None:
    event_id = make_event(api, capacity=2)["eventId"]
    [user] = make_users(api, 1)
    register(api, event_id, user)
    api.delete(f"/events/{event_id}/registrations/{user}")

    assert invoke_promotion(delivered(streams)) == {"batchItemFailures": []}
    assert waitlist.default().promote_all(event_id) == []


def test_each_promotion_is_announced_on_the_event_bus(api: ApiClient, streams: Any) -> None:
    # Given a subscriber: a rule on the bus that forwards RegistrationPromoted to a queue
    sqs = boto3.client("sqs", region_name="us-east-1")
    bus = boto3.client("events", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="promotions")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus_name = get_settings().event_bus_name
    bus.put_rule(
        Name="promoted", EventBusName=bus_name, EventPattern=json.dumps({"detail-type": ["RegistrationPromoted"]})
    )
    bus.put_targets(Rule="promoted", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": queue_arn}])
    event_id, holders, waiters = full_event_with_waiters(api, capacity=2, waiting=3)
    for holder in holders:
        api.delete(f"/events/{event_id}/registrations/{holder}")

    # When the stream delivers the removals, then (next batch) the promotions they caused
    removals = delivered(streams)
    assert invoke_promotion(removals) == {"batchItemFailures": []}
    promotions = delivered(
        streams, after=len(stream_records(get_client(), streams, get_settings().registrations_table)) - 2
    )
    assert [r["eventName"] for r in promotions] == ["MODIFY", "MODIFY"]
    assert invoke_promotion(promotions) == {"batchItemFailures": []}

    # Then the subscriber hears of both, in order, with ids and time
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    announced = [json.loads(m["Body"]) for m in messages]
    assert [a["detail-type"] for a in announced] == ["RegistrationPromoted"] * 2
    assert [a["detail"]["userId"] for a in announced] == waiters[:2]
    assert all(a["detail"]["eventId"] == event_id and a["detail"]["promotedAt"] for a in announced)
    assert {a["source"] for a in announced} == {"event-registrations"}


def test_a_refused_announcement_fails_its_record_for_a_retry(
    api: ApiClient, streams: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id, holders, waiters = full_event_with_waiters(api, capacity=1, waiting=1)
    api.delete(f"/events/{event_id}/registrations/{holders[0]}")
    invoke_promotion(delivered(streams))
    [promotion] = [r for r in delivered(streams) if r["eventName"] == "MODIFY"]
    monkeypatch.setattr(promotion_handler_publisher(), "_bus_name", "no-such-bus")

    result = invoke_promotion([promotion])

    assert result == {"batchItemFailures": [{"itemIdentifier": promotion["dynamodb"]["SequenceNumber"]}]}


def promotion_handler_publisher() -> Any:
    return promotion_manager.default().publisher


def test_a_waitlist_entry_without_its_marker_fails_loudly_instead_of_looping(api: ApiClient) -> None:
    from shared.managers.waitlist import InconsistentWaitlistError

    event_id, holders, waiters = full_event_with_waiters(api, capacity=1, waiting=1)
    api.delete(f"/events/{event_id}/registrations/{holders[0]}")
    get_client().delete_item(
        TableName=get_settings().registrations_table, Key={"eventId": {"S": event_id}, "userId": {"S": waiters[0]}}
    )

    with pytest.raises(InconsistentWaitlistError):
        waitlist.default().promote_all(event_id)
