"""Hostile input over the local stack, where the outside corpus found 500s (issue 9): numbers
beyond Python's int-string limit in any field of any body route, multipart and form bodies with
broken boundaries (test_gateway_errors.py), query parameters in forms Python would coerce, and
page tokens correctly signed around a cursor that is no key of its list. 0 responses >= 500, every
error exactly `{"detail": str}`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.api.pagination import encode_token
from tests.helpers import uid
from tests.integration.stack import LocalStack

pytestmark = pytest.mark.integration

HUGE = "9" * 5000
EVENT = {"title": "T", "date": "2026-12-01", "location": "L", "organizer": "O"}


def assert_detail(response: Any, status: int, *mentions: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers.get("Content-Type", "").startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"detail"} and isinstance(body["detail"], str), body
    for word in mentions:
        assert word in body["detail"], (word, body["detail"])


@pytest.fixture(scope="module")
def event_id(local_stack: LocalStack) -> str:
    event = uid("evt")
    assert local_stack.post("/events", json={"eventId": event, **EVENT, "capacity": 2}).status_code == 201
    return event


def routes(event_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/events", EVENT),
        ("PUT", f"/events/{event_id}", {"title": "Renamed"}),
        ("POST", "/users", {"name": "Ada"}),
        ("POST", f"/events/{event_id}/registrations", {"userId": "someone"}),
    ]


@pytest.mark.parametrize("number", [HUGE, "-" + HUGE, HUGE + ".5", HUGE + "e9", "NaN", "-Infinity"])
@pytest.mark.parametrize("field", ["capacity", "title", "userId", "name", "unknown"])
def test_numbers_beyond_the_int_string_limit_are_400_naming_the_field(
    api: LocalStack, event_id: str, field: str, number: str
) -> None:
    for method, path, valid in routes(event_id):
        raw = json_with(valid, field, number)
        response = api.request(method, path, data=raw, headers={"Content-Type": "application/json"})
        assert_detail(response, 400, f"body.{field}")


def json_with(body: dict[str, Any], field: str, raw_value: str) -> bytes:
    return json.dumps({**body, field: "<raw>"}).replace('"<raw>"', raw_value).encode()


@pytest.mark.parametrize("limit", ["5.0", "%2B5", "+5", "1_0", "%205", "05", "9" * 5000])
@pytest.mark.parametrize("path", ["/events", "/events/e/registrations", "/users/u/waitlist"])
def test_limit_is_a_plain_decimal_integer(api: LocalStack, path: str, limit: str) -> None:
    assert_detail(api.get(f"{path}?limit={limit}"), 400, "limit")


SIGNED_BUT_INVALID: dict[str, dict[str, Any]] = {
    "empty": {},
    "foreign-key": {"id": {"S": "x"}},
    "wrong-type": {"eventId": {"N": "1"}},
    "empty-string": {"eventId": {"S": ""}},
    "list-value": {"eventId": {"L": []}},
    "huge-number": {"eventId": {"S": "e"}, "position": {"N": "9" * 5000}},
    "foreign-partition": {"eventId": {"S": "other"}, "position": {"N": "1"}},
}


@pytest.mark.parametrize("name", list(SIGNED_BUT_INVALID))
def test_a_signed_cursor_that_is_no_key_of_its_list_is_400(api: LocalStack, event_id: str, name: str) -> None:
    # The stack inherits this test run's PAGINATION_SECRET (tests/conftest.py), so tokens signed here are genuine.
    for path, scope in (
        ("/events", "events?status=None"),
        (f"/events/{event_id}/registrations", f"events/{event_id}/registrations"),
        (f"/events/{event_id}/waitlist", f"events/{event_id}/waitlist"),
        ("/users/u/registrations", "users/u/registrations"),
        ("/users/u/waitlist", "users/u/waitlist"),
    ):
        token = encode_token(scope, SIGNED_BUT_INVALID[name])
        assert_detail(api.get(f"{path}?nextToken={token}"), 400, "nextToken")


# Bytes that are no UTF-8: a stray continuation byte, a truncated sequence, an overlong '/', an
# encoded surrogate, a Latin-1 'é'. JSON text is UTF-8 (RFC 8259): serverless-offline decoded them
# to U+FFFD, so a title of b"Caf\xe9" was stored as "Caf\ufffd" and answered 201.
NOT_UTF8 = [b"\x80", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"Caf\xe9"]


@pytest.mark.parametrize("raw", NOT_UTF8, ids=lambda raw: raw.hex())
def test_a_body_that_is_not_utf8_is_400_and_changes_nothing(api: LocalStack, event_id: str, raw: bytes) -> None:
    event, user = uid("evt"), uid("usr")
    title = api.get(f"/events/{event_id}").json()["title"]
    for method, path, valid in [
        ("POST", "/events", {**EVENT, "eventId": event}),
        ("PUT", f"/events/{event_id}", {"title": "Renamed", "description": "D"}),
        ("POST", "/users", {"name": "Ada", "userId": user}),
        ("POST", f"/events/{event_id}/registrations", {"userId": "someone"}),
    ]:
        field = next(iter(valid))
        body = json.dumps({**valid, field: "<raw>"}).encode().replace(b'"<raw>"', b'"A' + raw + b'"')

        response = api.request(method, path, data=body, headers={"Content-Type": "application/json"})

        assert_detail(response, 400, "body", "UTF-8")
    assert api.get(f"/events/{event}").status_code == 404
    assert api.get(f"/events/{event_id}").json()["title"] == title
    assert api.get(f"/users/{user}").status_code == 404
