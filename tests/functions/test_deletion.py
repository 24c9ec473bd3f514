"""Event deletion against concurrent work (issue 9, defects 4 and 5): unregistering while the event
is being deleted is a 404, never a 500; a second DELETE is a 404 and the id stays taken (409) until
the background has finished; and a deletion only ever touches the generation of the event it
started on — never an event re-created under the same id meanwhile (test_event_changes.py)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import get_settings
from shared.repositories.dynamo import get_client
from tests.builders import ApiClient
from tests.helpers import assert_error, make_event, make_users, register


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
    """The background's side of it (a run resuming after another finished and the id was
    re-created, a replayed record) is in test_event_changes.py."""

    def test_two_deletions_in_turn_remove_everything_once(self, api: ApiClient) -> None:
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        for user in make_users(api, 3):
            register(api, event_id, user)
        assert api.delete(f"/events/{event_id}").status == 200
        assert_error(api.delete(f"/events/{event_id}"), 404)
        settings = get_settings()
        for table in (settings.events_table, settings.registrations_table, settings.waitlist_table):
            assert not [i for i in get_client().scan(TableName=table)["Items"] if i["eventId"]["S"] == event_id]

    def test_an_event_being_deleted_is_404_to_a_second_delete_and_its_id_is_taken(self, api: ApiClient) -> None:
        # Given an event whose children the background is still removing
        event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
        for user in make_users(api, 2):
            register(api, event_id, user)
        mark_deleting(event_id)
        before = get_client().scan(TableName=get_settings().registrations_table)["Items"]

        # Then a second DELETE is a 404, a create with its id a 409 that says why, and nothing changed
        assert_error(api.delete(f"/events/{event_id}"), 404, event_id)
        assert_error(
            api.post("/events", {**_body(), "eventId": event_id}), 409, event_id, "still being deleted", "retry"
        )
        assert get_client().scan(TableName=get_settings().registrations_table)["Items"] == before


def _body() -> dict[str, Any]:
    return {"title": "Again", "date": "2026-12-01", "location": "Hall", "organizer": "Org"}
