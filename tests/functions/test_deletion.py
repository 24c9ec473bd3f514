"""Event deletion against concurrent work (issue 9, defects 4 and 5): unregistering while the event
is being deleted is a 404, never a 500; and a deletion only ever touches the generation of the
event it started on — never an event re-created under the same id meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import get_settings
from shared.managers import events
from shared.repositories.dynamo import get_client
from tests.builders import ApiClient
from tests.helpers import assert_error, make_event, make_users, register
from tests.invariants import check_invariants


def mark_deleting(event_id: str) -> None:
    get_client().update_item(
        TableName=get_settings().events_table,
        Key={"eventId": {"S": event_id}},
        UpdateExpression="SET deleting = :true",
        ExpressionAttributeValues={":true": {"BOOL": True}},
    )


def waitlist_items(event_id: str) -> list[dict[str, Any]]:
    return get_client().query(
        TableName=get_settings().waitlist_table,
        KeyConditionExpression="eventId = :e",
        ExpressionAttributeValues={":e": {"S": event_id}},
        ConsistentRead=True,
    )["Items"]


class TestUnregisterWhileDeleting:
    @pytest.fixture
    def event(self, api: ApiClient) -> tuple[str, str, str]:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        holder, waiter = make_users(api, 2)
        assert register(api, event_id, holder).body["status"] == "confirmed"
        assert register(api, event_id, waiter).body["status"] == "waitlisted"
        return event_id, holder, waiter

    def test_a_waiting_user_whose_entry_the_deletion_removed_is_404(
        self, api: ApiClient, event: tuple[str, str, str]
    ) -> None:
        # Given a deletion that has removed the waitlist entries but not yet their markers
        event_id, _, waiter = event
        mark_deleting(event_id)
        for item in waitlist_items(event_id):
            get_client().delete_item(
                TableName=get_settings().waitlist_table,
                Key={"eventId": item["eventId"], "position": item["position"]},
            )
        # When the waiting user unregisters, then it is a 404, not a 500
        assert_error(api.delete(f"/events/{event_id}/registrations/{waiter}"), 404, event_id)

    @pytest.mark.parametrize("who", ["holder", "waiter"])
    def test_unregistering_from_an_event_being_deleted_is_404_and_changes_nothing(
        self, api: ApiClient, event: tuple[str, str, str], who: str
    ) -> None:
        event_id, holder, waiter = event
        mark_deleting(event_id)
        before = get_client().scan(TableName=get_settings().registrations_table)["Items"]
        user = holder if who == "holder" else waiter
        assert_error(api.delete(f"/events/{event_id}/registrations/{user}"), 404, event_id)
        assert get_client().scan(TableName=get_settings().registrations_table)["Items"] == before


class TestOverlappingDeletions:
    def test_an_old_deletion_never_touches_the_event_re_created_after_another_finished(self, api: ApiClient) -> None:
        # Given an event with people confirmed and waiting
        event_id = make_event(api, capacity=1, waitlistEnabled=True, title="First")["eventId"]
        for user in make_users(api, 3):
            register(api, event_id, user)
        [newcomer] = make_users(api, 1)
        interleaved: list[str] = []

        def meanwhile(model: Any, **_: Any) -> None:
            # The first deletion is about to remove its first children. Meanwhile a retried DELETE
            # runs to the end, and the client creates the event again with a registration.
            if interleaved or model.name not in {"BatchWriteItem", "TransactWriteItems"}:
                return
            interleaved.append(model.name)
            events.default().delete(event_id)
            assert make_event(api, eventId=event_id, capacity=5, title="Second")["eventId"] == event_id
            assert register(api, event_id, newcomer).body["status"] == "confirmed"

        get_client().meta.events.register("before-call.dynamodb.*", meanwhile, unique_id="interleave-deletions")
        try:
            # When the first deletion resumes and finishes
            response = api.delete(f"/events/{event_id}")
        finally:
            get_client().meta.events.unregister("before-call.dynamodb.*", unique_id="interleave-deletions")
        assert interleaved, "the deletion removed no children"
        # Then it answered, and the re-created event and its registration are intact
        assert response.status == 200, response.body
        event = api.get(f"/events/{event_id}")
        assert event.status == 200 and event.body["title"] == "Second", event.body
        assert [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body] == [newcomer]
        check_invariants(get_client(), event_id)

    def test_two_deletions_in_turn_remove_everything_once(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        for user in make_users(api, 3):
            register(api, event_id, user)
        assert api.delete(f"/events/{event_id}").status == 200
        assert_error(api.delete(f"/events/{event_id}"), 404)
        settings = get_settings()
        for table in (settings.events_table, settings.registrations_table, settings.waitlist_table):
            assert not [i for i in get_client().scan(TableName=table)["Items"] if i["eventId"]["S"] == event_id]

    def test_a_crashed_deletion_of_an_event_from_before_generations_is_finished_by_a_retry(
        self, api: ApiClient
    ) -> None:
        # Given an event stored before generations existed, marked deleting by a run that crashed
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        for user in make_users(api, 2):
            register(api, event_id, user)
        get_client().update_item(
            TableName=get_settings().events_table,
            Key={"eventId": {"S": event_id}},
            UpdateExpression="SET deleting = :true REMOVE generation",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )
        # When the DELETE is retried, then it finishes
        assert api.delete(f"/events/{event_id}").status == 200
        settings = get_settings()
        for table in (settings.events_table, settings.registrations_table, settings.waitlist_table):
            assert not [i for i in get_client().scan(TableName=table)["Items"] if i["eventId"]["S"] == event_id]
