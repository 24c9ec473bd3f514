"""The Events API, per route, in-process on moto: every Events rule of SPEC.md, with status and body,
and for each rejected write the proof that what was stored did not change."""

from __future__ import annotations

import importlib
import json
import uuid
from typing import Any

import pytest

from shared.repositories.dynamo import get_client
from tests.builders import ApiClient, ApiResponse, LambdaContext, api_event
from tests.helpers import (
    assert_error,
    assert_utc_timestamp,
    delivered_event_changes,
    event_body,
    invoke_event_changes,
    make_event,
    make_users,
    register,
    uid,
)
from tests.invariants import check_invariants

READ_ONLY = ["createdAt", "updatedAt", "registeredCount", "waitlistCount"]
STATUSES = ["draft", "scheduled", "active", "cancelled", "completed"]


def raw_path_request(api: ApiClient, method: str, path: str, body: Any = None) -> ApiResponse:
    """A request whose path reaches the handler as given (characters such as '#' or NUL included),
    which ApiClient's URL parsing would otherwise cut or refuse."""
    module_name, params, resource = api.handler_for(method, path)
    event = api_event(method, "/placeholder", body, path_parameters=params or None, resource=resource)
    event["path"] = event["requestContext"]["path"] = path
    result = importlib.import_module(module_name).lambda_handler(event, LambdaContext())
    return ApiResponse(result["statusCode"], json.loads(result["body"]) if result.get("body") else None, {})


class TestCreate:
    def test_defaults_and_generated_uuid4(self, api: ApiClient) -> None:
        # When only the required fields are sent
        response = api.post("/events", event_body())

        # Then the event carries every default and a fresh UUID4
        assert response.status == 201
        body = response.body
        generated = uuid.UUID(body["eventId"])
        assert generated.version == 4 and str(generated) == body["eventId"]
        assert body == {
            "eventId": body["eventId"],
            "title": "Talk",
            "description": "",
            "date": "2026-12-01",
            "location": "Hall",
            "organizer": "Org",
            "status": "active",
            "capacity": None,
            "waitlistEnabled": False,
            "registeredCount": 0,
            "waitlistCount": 0,
            "createdAt": body["createdAt"],
            "updatedAt": body["updatedAt"],
        }
        assert assert_utc_timestamp(body["createdAt"]) == assert_utc_timestamp(body["updatedAt"])
        # And it is stored as returned
        assert api.get(f"/events/{body['eventId']}").body == body

    def test_generated_ids_differ(self, api: ApiClient) -> None:
        first = api.post("/events", event_body()).body["eventId"]
        second = api.post("/events", event_body()).body["eventId"]
        assert first != second

    def test_every_field_given_is_stored(self, api: ApiClient) -> None:
        event_id = uid("evt")
        body = {
            "eventId": event_id,
            "title": "Conference",
            "description": "Line one\nLine two\twith a tab",
            "date": "2026-12-01T18:30:00.123456+00:00",
            "location": "Main hall",
            "organizer": "The org",
            "status": "scheduled",
            "capacity": 25,
            "waitlistEnabled": True,
        }

        response = api.post("/events", body)

        assert response.status == 201
        assert {key: response.body[key] for key in body} == body
        assert response.body["registeredCount"] == 0 and response.body["waitlistCount"] == 0
        assert api.get(f"/events/{event_id}").body == response.body

    @pytest.mark.parametrize("status", STATUSES)
    def test_every_status_is_accepted(self, api: ApiClient, status: str) -> None:
        assert make_event(api, status=status)["status"] == status

    @pytest.mark.parametrize("date", ["2026-12-01", "2026-12-01T18:30:00Z", "2026-12-01T18:30:00.123456+00:00"])
    def test_iso_date_or_datetime_is_accepted(self, api: ApiClient, date: str) -> None:
        assert make_event(api, date=date)["date"] == date

    def test_explicit_null_capacity_means_unlimited(self, api: ApiClient) -> None:
        assert make_event(api, capacity=None)["capacity"] is None

    @pytest.mark.parametrize("event_id", ["a", "x" * 64, "A-z_0.9@host:port"])
    def test_client_ids_within_the_rule_are_accepted(self, api: ApiClient, event_id: str) -> None:
        response = api.post("/events", event_body(eventId=event_id))

        assert response.status == 201 and response.body["eventId"] == event_id
        assert api.get(f"/events/{event_id}").body == response.body

    def test_duplicate_event_id_is_409_and_keeps_the_first(self, api: ApiClient) -> None:
        # Given an event
        first = make_event(api, title="First")

        # When another is created with the same id
        response = api.post("/events", event_body(eventId=first["eventId"], title="Second"))

        # Then it is a conflict and the first one is untouched
        assert_error(response, 409, first["eventId"])
        assert api.get(f"/events/{first['eventId']}").body == first

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"eventId": ""}, "eventId"),
            ({"eventId": "x" * 65}, "eventId"),
            ({"eventId": "has space"}, "eventId"),
            ({"eventId": "a#b"}, "eventId"),
            ({"eventId": "a/b"}, "eventId"),
            ({"eventId": "é"}, "eventId"),
            ({"eventId": "abc\n"}, "eventId"),
            ({"eventId": 5}, "eventId"),
            ({"title": ""}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"title": 123}, "title"),
            ({"title": "bad\x00title"}, "title"),
            ({"title": None}, "title"),
            ({"description": "x" * 2001}, "description"),
            ({"description": "nul\x00byte"}, "description"),
            ({"date": "2026-13-01"}, "date"),
            ({"date": "2026-02-30"}, "date"),
            ({"date": "tomorrow"}, "date"),
            ({"date": "01/12/2026"}, "date"),
            ({"location": ""}, "location"),
            ({"location": "x" * 201}, "location"),
            ({"organizer": ""}, "organizer"),
            ({"organizer": "x" * 201}, "organizer"),
            ({"status": "ACTIVE"}, "status"),
            ({"status": "open"}, "status"),
            ({"capacity": 0}, "capacity"),
            ({"capacity": -1}, "capacity"),
            ({"capacity": "5"}, "capacity"),
            ({"capacity": True}, "capacity"),
            ({"capacity": 5.0}, "capacity"),
            ({"waitlistEnabled": "yes"}, "waitlistEnabled"),
            ({"waitlistEnabled": 1}, "waitlistEnabled"),
            ({"waitlistEnabled": None}, "waitlistEnabled"),
            ({"unexpected": "x"}, "unexpected"),
            *[({field: "2026-01-01T00:00:00+00:00" if field.endswith("At") else 3}, field) for field in READ_ONLY],
        ],
    )
    def test_invalid_field_is_400_naming_it_and_stores_nothing(
        self, api: ApiClient, change: dict[str, Any], field: str
    ) -> None:
        response = api.post("/events", event_body(**change))

        assert_error(response, 400, field)
        assert api.get("/events").body == []

    @pytest.mark.parametrize("missing", ["title", "date", "location", "organizer"])
    def test_missing_required_field_is_400_naming_it(self, api: ApiClient, missing: str) -> None:
        body = event_body()
        del body[missing]

        assert_error(api.post("/events", body), 400, missing)
        assert api.get("/events").body == []

    @pytest.mark.parametrize("raw", ["{", "[]", '"text"', "null", "42", "[{}]"])
    def test_body_that_is_not_a_json_object_is_400(self, api: ApiClient, raw: str) -> None:
        assert_error(api.post("/events", raw_body=raw), 400)
        assert api.get("/events").body == []


class TestList:
    def test_empty_is_an_empty_array_without_next_token(self, api: ApiClient) -> None:
        response = api.get("/events")

        assert response.status == 200 and response.body == []
        assert "x-next-token" not in response.headers

    def test_returns_every_event_as_stored(self, api: ApiClient) -> None:
        created = [make_event(api, title=f"Event {n}") for n in range(3)]

        response = api.get("/events")

        assert response.status == 200
        by_id = {event["eventId"]: event for event in response.body}
        assert len(response.body) == 3
        assert by_id == {event["eventId"]: event for event in created}

    @pytest.mark.parametrize("status", STATUSES)
    def test_status_filter(self, api: ApiClient, status: str) -> None:
        # Given one event of each status
        created = {s: make_event(api, status=s) for s in STATUSES}

        # When listing one status
        response = api.get(f"/events?status={status}")

        # Then only that event comes back
        assert response.status == 200
        assert response.body == [created[status]]

    def test_status_filter_follows_updates(self, api: ApiClient) -> None:
        event = make_event(api, status="draft")
        api.put(f"/events/{event['eventId']}", {"status": "scheduled"})

        assert api.get("/events?status=draft").body == []
        assert [e["eventId"] for e in api.get("/events?status=scheduled").body] == [event["eventId"]]

    def test_status_filter_with_no_match_is_empty(self, api: ApiClient) -> None:
        make_event(api, status="active")
        response = api.get("/events?status=completed")
        assert response.status == 200 and response.body == []

    @pytest.mark.parametrize("status", ["ACTIVE", "Active", "open", "", "active "])
    def test_unknown_status_is_400_case_sensitive(self, api: ApiClient, status: str) -> None:
        make_event(api)
        assert_error(api.get(f"/events?status={status.replace(' ', '%20')}"), 400, "status")

    def test_deleted_events_are_not_listed(self, api: ApiClient) -> None:
        kept, gone = make_event(api), make_event(api)
        api.delete(f"/events/{gone['eventId']}")

        assert api.get("/events").body == [kept]
        assert api.get("/events?status=active").body == [kept]


class TestGet:
    def test_found(self, api: ApiClient) -> None:
        event = make_event(api, capacity=3, waitlistEnabled=True)

        response = api.get(f"/events/{event['eventId']}")

        assert response.status == 200 and response.body == event

    def test_unknown_is_404(self, api: ApiClient) -> None:
        missing = uid("missing")
        assert_error(api.get(f"/events/{missing}"), 404, missing)


class TestUpdate:
    def test_replaces_only_the_fields_present(self, api: ApiClient) -> None:
        # Given an event
        before = make_event(api, capacity=10, description="Old text")

        # When one field is replaced
        response = api.put(f"/events/{before['eventId']}", {"title": "New title"})

        # Then only that field and updatedAt change
        assert response.status == 200
        after = response.body
        assert after == {**before, "title": "New title", "updatedAt": after["updatedAt"]}
        assert assert_utc_timestamp(after["updatedAt"]) >= assert_utc_timestamp(before["updatedAt"])
        assert after["updatedAt"] != before["updatedAt"]
        assert api.get(f"/events/{before['eventId']}").body == after

    def test_replaces_every_writable_field(self, api: ApiClient) -> None:
        before = make_event(api)
        changes = {
            "title": "T2",
            "description": "D2",
            "date": "2027-01-02T10:00:00Z",
            "location": "L2",
            "organizer": "O2",
            "status": "scheduled",
            "capacity": 7,
            "waitlistEnabled": True,
        }

        response = api.put(f"/events/{before['eventId']}", changes)

        assert response.status == 200
        assert response.body == {**before, **changes, "updatedAt": response.body["updatedAt"]}
        assert api.get(f"/events/{before['eventId']}").body == response.body

    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            ({"title": 5}, "body.title: Input should be a valid string"),
            ({"title": ""}, "body.title: String should have at least 1 character"),
            ({"description": "d" * 2001}, "body.description: String should have at most 2000 characters"),
            ({"date": "tomorrow"}, "body.date: must be an ISO 8601 date"),
            ({"location": "l" * 201}, "body.location: String should have at most 200 characters"),
            ({"organizer": ["O"]}, "body.organizer: Input should be a valid string"),
            (
                {"status": "open"},
                "body.status: Input should be 'draft', 'scheduled', 'active', 'cancelled' or 'completed'",
            ),
            ({"waitlistEnabled": "yes"}, "body.waitlistEnabled: Input should be a valid boolean"),
        ],
    )
    def test_an_invalid_field_is_named_as_on_create(self, api: ApiClient, body: dict, detail: str) -> None:
        # The message of an invalid field, not of each form pydantic tried (".title.none: Input
        # should be None", ".title.function-after[_single_line(), constrained-str]: ...").
        event = make_event(api)

        response = api.put(f"/events/{event['eventId']}", body)

        assert_error(response, 400)
        assert response.body["detail"].startswith(detail), response.body
        assert ";" not in response.body["detail"] and "none" not in response.body["detail"], response.body

    def test_description_can_be_emptied(self, api: ApiClient) -> None:
        event = make_event(api, description="Something")
        assert api.put(f"/events/{event['eventId']}", {"description": ""}).body["description"] == ""

    def test_null_capacity_removes_the_limit(self, api: ApiClient) -> None:
        event = make_event(api, capacity=2)

        response = api.put(f"/events/{event['eventId']}", {"capacity": None})

        assert response.status == 200 and response.body["capacity"] is None
        assert api.get(f"/events/{event['eventId']}").body["capacity"] is None
        # And the event now takes everyone
        users = make_users(api, 3)
        assert [register(api, event["eventId"], u).status for u in users] == [201, 201, 201]

    @pytest.mark.parametrize("field", READ_ONLY)
    def test_read_only_field_is_400_naming_it_and_changes_nothing(self, api: ApiClient, field: str) -> None:
        before = make_event(api)
        value: Any = "2030-01-01T00:00:00+00:00" if field.endswith("At") else 99

        # Even alongside a valid change, nothing is applied
        response = api.put(f"/events/{before['eventId']}", {"title": "Changed", field: value})

        assert_error(response, 400, field)
        assert api.get(f"/events/{before['eventId']}").body == before

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"eventId": "renamed"}, "eventId"),
            ({"unexpected": 1}, "unexpected"),
            ({"title": None}, "title"),
            ({"status": None}, "status"),
            ({"waitlistEnabled": None}, "waitlistEnabled"),
            ({"title": ""}, "title"),
            ({"title": 123}, "title"),
            ({"status": "ACTIVE"}, "status"),
            ({"capacity": 0}, "capacity"),
            ({"capacity": "5"}, "capacity"),
            ({"capacity": True}, "capacity"),
            ({"capacity": 5.0}, "capacity"),
            ({"waitlistEnabled": "yes"}, "waitlistEnabled"),
            ({"date": "not a date"}, "date"),
            ({"location": "x" * 201}, "location"),
            ({"organizer": "tab\x0bchar"}, "organizer"),
        ],
    )
    def test_invalid_body_is_400_and_changes_nothing(self, api: ApiClient, body: dict[str, Any], field: str) -> None:
        before = make_event(api, capacity=5)

        assert_error(api.put(f"/events/{before['eventId']}", body), 400, field)
        assert api.get(f"/events/{before['eventId']}").body == before

    @pytest.mark.parametrize("raw", ["{}", "{", "[]", '[{"title": "x"}]', "null", '"x"'])
    def test_empty_or_non_object_body_is_400(self, api: ApiClient, raw: str) -> None:
        before = make_event(api)

        assert_error(api.put(f"/events/{before['eventId']}", raw_body=raw), 400)
        assert api.get(f"/events/{before['eventId']}").body == before

    def test_unknown_event_is_404_and_creates_nothing(self, api: ApiClient) -> None:
        missing = uid("missing")

        assert_error(api.put(f"/events/{missing}", {"title": "Ghost"}), 404, missing)
        assert_error(api.get(f"/events/{missing}"), 404)
        assert api.get("/events").body == []

    def test_deleted_event_is_404(self, api: ApiClient) -> None:
        event = make_event(api)
        api.delete(f"/events/{event['eventId']}")

        assert_error(api.put(f"/events/{event['eventId']}", {"title": "Back"}), 404)
        assert_error(api.get(f"/events/{event['eventId']}"), 404)

    @pytest.mark.parametrize("capacity", [5, None])
    def test_lowering_capacity_below_registered_count_is_409(self, api: ApiClient, capacity: int | None) -> None:
        # Given an event with three confirmed registrations
        event = make_event(api, capacity=capacity)
        for user in make_users(api, 3):
            assert register(api, event["eventId"], user).status == 201
        before = api.get(f"/events/{event['eventId']}").body
        assert before["registeredCount"] == 3

        # When the capacity is lowered below them
        response = api.put(f"/events/{event['eventId']}", {"capacity": 2, "title": "Smaller"})

        # Then it is a conflict and nothing changed
        assert_error(response, 409, "capacity")
        assert api.get(f"/events/{event['eventId']}").body == before
        check_invariants(get_client(), event["eventId"])

    def test_lowering_capacity_to_registered_count_is_allowed(self, api: ApiClient) -> None:
        event = make_event(api, capacity=5)
        for user in make_users(api, 3):
            register(api, event["eventId"], user)

        response = api.put(f"/events/{event['eventId']}", {"capacity": 3})

        assert response.status == 200
        assert response.body["capacity"] == 3 and response.body["registeredCount"] == 3
        # And the event is now full
        assert api.post(f"/events/{event['eventId']}/registrations", {"userId": make_users(api, 1)[0]}).body == {
            "detail": "Event is full"
        }

    def test_raising_capacity_promotes_the_waitlist_in_fifo_order(self, api: ApiClient, streams: Any) -> None:
        # Given a full event (capacity 1) with three people waiting
        event = make_event(api, capacity=1, waitlistEnabled=True)
        event_id = event["eventId"]
        holder, first, second, third = make_users(api, 4)
        for user in (holder, first, second, third):
            assert register(api, event_id, user).status == 201

        # When the capacity rises by two, the PUT answers with the event as its write left it
        response = api.put(f"/events/{event_id}", {"capacity": 3})
        assert response.status == 200
        assert response.body["capacity"] == 3
        assert response.body["registeredCount"] == 1 and response.body["waitlistCount"] == 3

        # And once the Events stream has delivered the change to the background
        assert invoke_event_changes(delivered_event_changes(streams)) == {"batchItemFailures": []}

        # Then the first two in line are confirmed, in order, and the third moves up to position 1
        after = api.get(f"/events/{event_id}").body
        assert after["registeredCount"] == 3 and after["waitlistCount"] == 1
        confirmed = api.get(f"/events/{event_id}/registrations").body
        assert [r["userId"] for r in confirmed] == [holder, first, second]
        waiting = api.get(f"/events/{event_id}/waitlist").body
        assert [(w["userId"], w["position"]) for w in waiting] == [(third, 1)]
        check_invariants(get_client(), event_id, quiet=True)

    def test_removing_capacity_promotes_everyone_waiting(self, api: ApiClient, streams: Any) -> None:
        event = make_event(api, capacity=1, waitlistEnabled=True)
        event_id = event["eventId"]
        users = make_users(api, 4)
        for user in users:
            register(api, event_id, user)

        response = api.put(f"/events/{event_id}", {"capacity": None})
        assert response.status == 200
        assert response.body["capacity"] is None
        assert invoke_event_changes(delivered_event_changes(streams)) == {"batchItemFailures": []}

        after = api.get(f"/events/{event_id}").body
        assert after["registeredCount"] == 4 and after["waitlistCount"] == 0
        assert [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body] == users
        assert api.get(f"/events/{event_id}/waitlist").body == []
        check_invariants(get_client(), event_id, quiet=True)

    def test_closing_the_event_stops_registrations(self, api: ApiClient) -> None:
        event = make_event(api)
        api.put(f"/events/{event['eventId']}", {"status": "cancelled"})

        response = register(api, event["eventId"], make_users(api, 1)[0])

        assert_error(response, 409)
        assert api.get(f"/events/{event['eventId']}").body["registeredCount"] == 0


class TestDelete:
    def test_deletes_then_get_is_404(self, api: ApiClient) -> None:
        event = make_event(api)

        response = api.delete(f"/events/{event['eventId']}")

        assert response.status == 200
        assert set(response.body) == {"message"} and isinstance(response.body["message"], str)
        assert response.body["message"]
        assert_error(api.get(f"/events/{event['eventId']}"), 404)
        assert api.get("/events").body == []

    def test_unknown_is_404(self, api: ApiClient) -> None:
        missing = uid("missing")
        assert_error(api.delete(f"/events/{missing}"), 404, missing)

    def test_twice_is_404_the_second_time(self, api: ApiClient) -> None:
        event = make_event(api)
        assert api.delete(f"/events/{event['eventId']}").status == 200
        assert_error(api.delete(f"/events/{event['eventId']}"), 404)

    def test_removes_registrations_and_waitlist_before_answering(self, api: ApiClient) -> None:
        # Given an event with a confirmed user and a waiting user
        event = make_event(api, capacity=1, waitlistEnabled=True)
        event_id = event["eventId"]
        confirmed, waiting = make_users(api, 2)
        register(api, event_id, confirmed)
        register(api, event_id, waiting)
        assert len(api.get(f"/users/{confirmed}/registrations").body) == 1
        assert len(api.get(f"/users/{waiting}/waitlist").body) == 1

        # When the event is deleted
        assert api.delete(f"/events/{event_id}").status == 200

        # Then no user list shows it, and its own lists are gone
        assert api.get(f"/users/{confirmed}/registrations").body == []
        assert api.get(f"/users/{waiting}/waitlist").body == []
        assert_error(api.get(f"/events/{event_id}/registrations"), 404)
        assert_error(api.get(f"/events/{event_id}/waitlist"), 404)
        # And an event created again under the same id starts empty
        again = api.post("/events", event_body(eventId=event_id, capacity=1, waitlistEnabled=True))
        assert again.status == 201
        assert again.body["registeredCount"] == 0 and again.body["waitlistCount"] == 0
        assert api.get(f"/events/{event_id}/registrations").body == []
        assert api.get(f"/events/{event_id}/waitlist").body == []
        assert register(api, event_id, waiting).body["status"] == "confirmed"


BAD_PATH_IDS = [
    "x" * 65,
    "a%20b",
    "a b",
    "a%23b",
    "a#b",
    'a"b',
    "a\x00b",
    "a%00b",
    "abc\n",
    "a\nb",
    "é",
    "a%2Fb",
]


class TestIdsInPaths:
    @pytest.mark.parametrize("bad_id", BAD_PATH_IDS)
    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    def test_id_breaking_the_rule_is_400_naming_it(self, api: ApiClient, method: str, bad_id: str) -> None:
        # Given an event whose id is the valid prefix of the bad one
        api.post("/events", event_body(eventId="abc"))
        body = {"title": "Renamed"} if method == "PUT" else None

        response = raw_path_request(api, method, f"/events/{bad_id}", body)

        assert_error(response, 400, "eventId")
        assert api.get("/events/abc").body["title"] == "Talk"

    def test_longest_valid_id_in_path_is_looked_up(self, api: ApiClient) -> None:
        event_id = uuid.uuid4().hex * 2
        assert len(event_id) == 64
        assert_error(api.get(f"/events/{event_id}"), 404, event_id)
