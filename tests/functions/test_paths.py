"""Defence in depth for crafted paths (issue 9, defect 1): a function refuses a request whose path
is not the one the client sent, or not the one its route was chosen for, as far as the API Gateway
event tells — whatever the gateway in front did to the path."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from tests.builders import ApiClient, LambdaContext, api_event
from tests.helpers import make_event, make_users, register


def call(module: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = importlib.import_module(module).lambda_handler(event, LambdaContext())
    return result["statusCode"], json.loads(result["body"])


def test_a_normalised_path_never_deletes_the_parent_event(api: ApiClient) -> None:
    # Given an event with a registration
    event_id = make_event(api)["eventId"]
    [user] = make_users(api, 1)
    assert register(api, event_id, user).status == 201
    # When a gateway normalised DELETE /events/E/registrations/%2E%2E into DELETE /events/E, but the
    # event still carries the path the client asked for
    event = api_event(
        "DELETE", f"/events/{event_id}", resource="/events/{eventId}", path_parameters={"eventId": event_id}
    )
    event["requestContext"]["path"] = f"/dev/events/{event_id}/registrations/%2E%2E"
    status, body = call("functions.events.delete", event)
    # Then it is refused, and nothing was deleted
    assert status == 400 and set(body) == {"detail"}, body
    assert api.get(f"/events/{event_id}").status == 200
    assert [r["userId"] for r in api.get(f"/events/{event_id}/registrations").body] == [user]


@pytest.mark.parametrize(
    ("resource", "path", "parameters"),
    [
        # the route chosen is not the one the path names
        ("/events/{eventId}/registrations/{userId}", "/events/E", {"eventId": "E", "userId": ".."}),
        ("/events/{eventId}", "/events/E/registrations/x", {"eventId": "E"}),
        # path parameters that disagree with the path
        ("/events/{eventId}", "/events/E", {"eventId": "F"}),
        ("/events/{eventId}", "/events/E", None),
        # the path itself still holds encoded dot segments, slashes or double encoding
        ("/events/{eventId}", "/events/%2E%2E", {"eventId": ".."}),
        ("/events/{eventId}", "/events/.%2e", {"eventId": ".."}),
        ("/events/{eventId}", "/events/a%2Fb", {"eventId": "a/b"}),
        ("/events/{eventId}", "/events/a%5Cb", {"eventId": "a\\b"}),
        ("/events/{eventId}", "/events/%252E%252E", {"eventId": "%2E%2E"}),
    ],
)
def test_a_path_that_disagrees_with_its_route_is_400(
    api: ApiClient, resource: str, path: str, parameters: dict[str, str] | None
) -> None:
    event_id = make_event(api)["eventId"]
    event = api_event("DELETE", path, resource=resource, path_parameters=parameters)
    status, body = call("functions.events.delete", event)
    assert status == 400 and set(body) == {"detail"} and "path" in body["detail"], body
    assert api.get(f"/events/{event_id}").status == 200


def test_the_stage_prefix_and_percent_encoded_ids_are_fine(api: ApiClient) -> None:
    event_id = make_event(api, eventId="ada@home")["eventId"]
    event = api_event("GET", "/events/ada@home", resource="/events/{eventId}", path_parameters={"eventId": "ada@home"})
    # As the client sent it: stage prefix, '@' percent-encoded
    event["requestContext"]["path"] = "/dev/events/ada%40home"
    status, body = call("functions.events.get", event)
    assert (status, body["eventId"]) == (200, event_id)
