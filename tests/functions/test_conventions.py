"""SPEC.md's "Conventions for every route", exercised through the handlers serverless.yml routes to:
unknown routes and methods, CORS and preflights, body size and content type, error bodies, faults,
and pagination with tamper-evident tokens."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.config import get_settings
from shared.managers.events import EventManager
from shared.managers.users import UserManager
from shared.repositories.dynamo import get_client
from shared.repositories.events import EventRepository
from tests.builders import ApiClient, ApiResponse
from tests.helpers import assert_error, event_body, make_event, uid

ORIGIN = {"Origin": "https://app.example.com"}
MAX_BODY = 64 * 1024


def assert_cors(response: ApiResponse) -> None:
    assert response.headers.get("access-control-allow-origin") == "*", response.headers
    assert "X-Next-Token" in response.headers.get("access-control-expose-headers", ""), response.headers


def stored_count(client: Any, table: str) -> int:
    return client.scan(TableName=table, ConsistentRead=True)["Count"]


def walk(api: ApiClient, path: str) -> list[ApiResponse]:
    """Every page of a list, following X-Next-Token until it is absent."""
    pages = [api.get(path)]
    separator = "&" if "?" in path else "?"
    while "x-next-token" in pages[-1].headers:
        assert pages[-1].status == 200, pages[-1].body
        assert len(pages) < 100, "pagination does not end"
        pages.append(api.get(f"{path}{separator}nextToken={pages[-1].headers['x-next-token']}"))
    assert pages[-1].status == 200, pages[-1].body
    return pages


class TestUnknownRoutesAndMethods:
    @pytest.mark.parametrize(
        "method_path", ["GET /nope", "GET /", "POST /", "GET /events/x/unknown", "DELETE /users/x/y/z", "GET /eventsx"]
    )
    def test_unknown_path_is_404_with_detail(self, api: ApiClient, method_path: str) -> None:
        method, path = method_path.split(" ")
        assert_error(api.request(method, path), 404, path)

    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("PATCH", "/events", "GET, OPTIONS, POST"),
            ("DELETE", "/events", "GET, OPTIONS, POST"),
            ("POST", "/events/e1", "DELETE, GET, OPTIONS, PUT"),
            ("PATCH", "/events/e1", "DELETE, GET, OPTIONS, PUT"),
            ("GET", "/users", "OPTIONS, POST"),
            ("DELETE", "/users/u1", "GET, OPTIONS"),
            ("POST", "/health", "GET, OPTIONS"),
            ("PUT", "/events/e1/registrations", "GET, OPTIONS, POST"),
            ("GET", "/events/e1/registrations/u1", "DELETE, OPTIONS"),
            ("POST", "/users/u1/waitlist", "GET, OPTIONS"),
        ],
    )
    def test_known_path_with_wrong_method_is_405_with_detail_and_allow(
        self, api: ApiClient, method: str, path: str, allow: str
    ) -> None:
        response = api.request(method, path)

        assert_error(response, 405, method, path)
        assert response.headers["allow"] == allow

    def test_extra_trailing_slash_is_404_not_405(self, api: ApiClient) -> None:
        assert_error(api.get("/events/"), 404)


class TestCors:
    def test_success_carries_cors_headers(self, api: ApiClient) -> None:
        assert_cors(api.get("/health", headers=ORIGIN))
        created = api.post("/events", event_body(), headers=ORIGIN)
        assert created.status == 201
        assert_cors(created)
        assert_cors(api.get("/events", headers=ORIGIN))

    def test_errors_carry_cors_headers(self, api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
        event = make_event(api)
        responses = {
            400: api.get("/events?limit=0", headers=ORIGIN),
            404: api.get(f"/events/{uid('missing')}", headers=ORIGIN),
            405: api.request("PATCH", "/events", headers=ORIGIN),
            409: api.post("/events", event_body(eventId=event["eventId"]), headers=ORIGIN),
            413: api.post("/events", raw_body="x" * (MAX_BODY + 1), headers=ORIGIN),
        }
        unknown_route = api.get("/nope", headers=ORIGIN)
        monkeypatch.setattr(EventManager, "get", _raise(RuntimeError("boom")))
        responses[500] = api.get(f"/events/{event['eventId']}", headers=ORIGIN)

        for status, response in responses.items():
            assert_error(response, status)
            assert_cors(response)
        assert_error(unknown_route, 404)
        assert_cors(unknown_route)

    @pytest.mark.parametrize(
        ("path", "requested", "methods"),
        [
            ("/events", "POST", {"GET", "POST"}),
            ("/events/e1", "PUT", {"GET", "PUT", "DELETE"}),
            ("/events/e1/registrations", "POST", {"GET", "POST"}),
            ("/events/e1/registrations/u1", "DELETE", {"DELETE"}),
            ("/users", "POST", {"POST"}),
            ("/health", "GET", {"GET"}),
        ],
    )
    def test_preflight_is_answered_with_the_path_methods(
        self, api: ApiClient, path: str, requested: str, methods: set[str]
    ) -> None:
        headers = {
            **ORIGIN,
            "Access-Control-Request-Method": requested,
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        }

        response = api.request("OPTIONS", path, headers=headers)

        assert response.status in (200, 204)
        assert_cors(response)
        assert set(response.headers["access-control-allow-methods"].split(",")) == methods | {"OPTIONS"}
        allowed_headers = response.headers["access-control-allow-headers"].lower().split(",")
        assert {"content-type", "idempotency-key"} <= set(allowed_headers)


class TestBodies:
    def test_body_over_64_kib_is_413(self, api: ApiClient, dynamodb: Any) -> None:
        assert_error(api.post("/events", raw_body="x" * (MAX_BODY + 1)), 413)
        assert_error(api.post("/users", {"name": "a" * (MAX_BODY + 1)}), 413)
        assert stored_count(dynamodb, get_settings().users_table) == 0
        assert stored_count(dynamodb, get_settings().events_table) == 0

    def test_size_is_counted_in_bytes(self, api: ApiClient) -> None:
        # 33,000 two-byte characters: under 64 Ki characters, over 64 KiB
        raw = json.dumps(event_body(description="é" * 33_000), ensure_ascii=False)
        assert len(raw) < MAX_BODY < len(raw.encode())
        assert_error(api.post("/events", raw_body=raw), 413)

    def test_body_of_exactly_64_kib_is_not_413(self, api: ApiClient) -> None:
        # Given a valid JSON body of exactly 65,536 bytes whose description is too long
        skeleton = json.dumps(event_body(description=""))
        raw = json.dumps(event_body(description="x" * (MAX_BODY - len(skeleton))))
        assert len(raw.encode()) == MAX_BODY

        # Then it is validated (400 on the description), not refused for its size
        assert_error(api.post("/events", raw_body=raw), 400, "description")

    def test_oversized_update_is_413_and_changes_nothing(self, api: ApiClient) -> None:
        event = make_event(api)

        response = api.put(f"/events/{event['eventId']}", {"description": "x" * (MAX_BODY + 1)})

        assert_error(response, 413)
        assert api.get(f"/events/{event['eventId']}").body == event

    @pytest.mark.parametrize(
        ("content_type", "raw"),
        [
            ("text/plain", json.dumps({"name": "Ada"})),
            ("application/xml", "<user><name>Ada</name></user>"),
            ("application/x-www-form-urlencoded", "name=Ada"),
            (
                "multipart/form-data; boundary=b",
                '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\n--b--\r\n',
            ),
        ],
    )
    def test_unsupported_content_type_is_400(self, api: ApiClient, dynamodb: Any, content_type: str, raw: str) -> None:
        response = api.post("/users", raw_body=raw, headers={"Content-Type": content_type})

        assert_error(response, 400, "Content-Type")
        assert stored_count(dynamodb, get_settings().users_table) == 0

    def test_unsupported_content_type_on_update_changes_nothing(self, api: ApiClient) -> None:
        event = make_event(api)

        response = api.put(
            f"/events/{event['eventId']}",
            raw_body="title=New",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

        assert_error(response, 400, "Content-Type")
        assert api.get(f"/events/{event['eventId']}").body == event

    def test_json_with_charset_is_accepted(self, api: ApiClient) -> None:
        response = api.post(
            "/users", raw_body='{"name": "Ada"}', headers={"Content-Type": "application/json; charset=utf-8"}
        )
        assert response.status == 201 and response.body["name"] == "Ada"

    @pytest.mark.parametrize(
        "content_type",
        ["APPLICATION/JSON", "Application/Json", "application/json ; charset=UTF-8", "application/json;"],
    )
    def test_json_media_type_is_case_insensitive(self, api: ApiClient, content_type: str) -> None:
        # RFC 9110: type, subtype and parameter names are case-insensitive, spaces around ';' allowed.
        response = api.post("/users", raw_body='{"name": "Ada"}', headers={"Content-Type": content_type})

        assert response.status == 201, response.body
        assert response.body["name"] == "Ada"

    @pytest.mark.parametrize(
        "content_type", ["application/jsonx", "application/json-patch+json", "application/json5", "application/jsonp"]
    )
    def test_media_type_that_only_starts_like_json_is_400(
        self, api: ApiClient, dynamodb: Any, content_type: str
    ) -> None:
        response = api.post("/users", raw_body='{"name": "Ada"}', headers={"Content-Type": content_type})

        assert_error(response, 400, "Content-Type")
        assert stored_count(dynamodb, get_settings().users_table) == 0

    @pytest.mark.parametrize("raw", ["{", '{"name": "Ada",}', "[]", '"Ada"', "null", "1", "true"])
    def test_malformed_or_non_object_json_is_400(self, api: ApiClient, dynamodb: Any, raw: str) -> None:
        assert_error(api.post("/users", raw_body=raw), 400, "body")
        assert stored_count(dynamodb, get_settings().users_table) == 0

    @pytest.mark.parametrize("raw", ["[" * 30_000 + "]" * 30_000, '{"a":' * 10_000 + "1" + "}" * 10_000])
    def test_deeply_nested_json_is_400_not_500(self, api: ApiClient, raw: str) -> None:
        event = make_event(api)
        assert len(raw.encode()) <= MAX_BODY

        assert_error(api.post("/users", raw_body=raw), 400, "body")
        assert_error(api.put(f"/events/{event['eventId']}", raw_body=raw), 400, "body")
        assert api.get(f"/events/{event['eventId']}").body == event

    def test_validation_errors_are_400_never_422(self, api: ApiClient) -> None:
        for response in (
            api.post("/events", {"title": 1}),
            api.post("/users", {"name": ""}),
            api.get("/events?limit=x"),
            api.get("/events?status=nope"),
        ):
            assert_error(response, 400)


def _raise(exc: Exception) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return fail


class TestFaults:
    @pytest.mark.parametrize(
        "exc",
        [
            RuntimeError("secret detail at /var/task/shared/managers/events.py line 42"),
            KeyError("eventId"),
        ],
    )
    def test_unexpected_fault_is_500_internal_server_error_only(
        self, api: ApiClient, monkeypatch: pytest.MonkeyPatch, exc: Exception
    ) -> None:
        event = make_event(api)
        monkeypatch.setattr(EventRepository, "get", _raise(exc))

        response = api.get(f"/events/{event['eventId']}")

        assert response.status == 500
        assert response.body == {"detail": "Internal server error"}

    def test_a_dynamodb_error_that_is_not_about_load_is_500_internal_server_error_only(
        self, api: ApiClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given DynamoDB refusing the request itself (the repository turns it into an internal error)
        event = make_event(api)
        invalid = ClientError({"Error": {"Code": "ValidationException", "Message": "table xyz-secret"}}, "GetItem")
        monkeypatch.setattr(get_client(), "get_item", _raise(invalid))

        response = api.get(f"/events/{event['eventId']}")

        assert response.status == 500
        assert response.body == {"detail": "Internal server error"}

    def test_fault_in_a_write_is_500_and_stores_nothing(
        self, api: ApiClient, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(UserManager, "create", _raise(RuntimeError("Traceback (most recent call last)")))

        response = api.post("/users", {"name": "Ada"})

        assert response.status == 500
        assert response.body == {"detail": "Internal server error"}
        assert stored_count(dynamodb, get_settings().users_table) == 0

    def test_dynamodb_throttling_is_429_with_retry_after(self, api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
        throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")
        monkeypatch.setattr(get_client(), "get_item", _raise(throttled))

        response = api.get(f"/events/{uid('evt')}")

        assert_error(response, 429)
        assert response.headers["retry-after"] == "1"

    def test_dynamodb_failing_on_its_side_is_503_with_retry_after(
        self, api: ApiClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        failing = ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "GetItem")
        monkeypatch.setattr(get_client(), "get_item", _raise(failing))

        response = api.get(f"/events/{uid('evt')}")

        assert_error(response, 503)
        assert response.headers["retry-after"] == "1"


class TestPaginationLimit:
    @pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "2.5", "", "1e2"])
    def test_out_of_range_or_not_an_integer_is_400(self, api: ApiClient, limit: str) -> None:
        make_event(api)
        assert_error(api.get(f"/events?limit={limit}"), 400, "limit")

    @pytest.mark.parametrize(
        "limit",
        ["5.0", "+5", "1_0", "%205", "5%20", "%0A5", "05", "005", "0x5", "\uff15", "5e0", "9" * 5000, "1%2C2"],
    )
    @pytest.mark.parametrize(
        "path",
        ["/events", "/events/e/registrations", "/events/e/waitlist", "/users/u/registrations", "/users/u/waitlist"],
    )
    def test_anything_but_a_plain_decimal_integer_is_400_on_every_list(
        self, api: ApiClient, path: str, limit: str
    ) -> None:
        assert_error(api.get(f"{path}?limit={limit}"), 400, "query.limit")

    @pytest.mark.parametrize("query", ["limit=5&limit=6", "status=active&status=draft", "nextToken=a&nextToken=b"])
    def test_a_parameter_given_twice_is_400(self, api: ApiClient, query: str) -> None:
        assert_error(api.get(f"/events?{query}"), 400, f"query.{query.split('=')[0]}")

    @pytest.mark.parametrize("status", [" active", "active ", "ACTIVE", "Active", "act%00ive", ""])
    def test_the_status_filter_is_exact(self, api: ApiClient, status: str) -> None:
        assert_error(api.get(f"/events?status={status.replace(' ', '%20')}"), 400, "status")

    @pytest.mark.parametrize("limit", [1, 100])
    def test_bounds_are_accepted(self, api: ApiClient, limit: int) -> None:
        make_event(api)
        response = api.get(f"/events?limit={limit}")
        assert response.status == 200 and len(response.body) == 1


class TestPaginationWalk:
    @pytest.mark.parametrize("limit", [1, 2, 3, 6])
    def test_next_token_walks_every_item_once(self, api: ApiClient, limit: int) -> None:
        # Given seven events
        created = {make_event(api)["eventId"] for _ in range(7)}

        # When walking the list page by page
        pages = walk(api, f"/events?limit={limit}")

        # Then every event comes exactly once, in full pages but the last
        ids = [event["eventId"] for page in pages for event in page.body]
        assert sorted(ids) == sorted(created)
        assert len(pages) == math.ceil(7 / limit)
        assert all(len(page.body) == limit for page in pages[:-1])
        assert "x-next-token" not in pages[-1].headers

    def test_filtered_list_walks_only_its_items(self, api: ApiClient) -> None:
        active = {make_event(api, status="active")["eventId"] for _ in range(5)}
        for _ in range(3):
            make_event(api, status="draft")

        pages = walk(api, "/events?status=active&limit=2")

        ids = [event["eventId"] for page in pages for event in page.body]
        assert sorted(ids) == sorted(active)
        assert len(pages) == 3

    @pytest.mark.parametrize("limit", [4, 5, None])
    def test_list_that_fits_in_one_page_has_no_next_token(self, api: ApiClient, limit: int | None) -> None:
        for _ in range(4):
            make_event(api)

        response = api.get("/events" if limit is None else f"/events?limit={limit}")

        assert response.status == 200 and len(response.body) == 4
        assert "x-next-token" not in response.headers

    def test_default_page_is_100(self, api: ApiClient) -> None:
        for _ in range(101):
            api.post("/events", event_body())

        first = api.get("/events")
        rest = api.get(f"/events?nextToken={first.headers['x-next-token']}")

        assert len(first.body) == 100
        assert len(rest.body) == 1 and "x-next-token" not in rest.headers
        assert len({e["eventId"] for e in first.body + rest.body}) == 101

    def test_token_may_be_followed_with_another_page_size(self, api: ApiClient) -> None:
        created = {make_event(api)["eventId"] for _ in range(5)}
        first = api.get("/events?limit=2")

        rest = api.get(f"/events?limit=10&nextToken={first.headers['x-next-token']}")

        assert rest.status == 200
        assert sorted(e["eventId"] for e in first.body + rest.body) == sorted(created)


class TestPaginationTokens:
    @pytest.fixture
    def token(self, api: ApiClient) -> str:
        for _ in range(3):
            make_event(api)
        response = api.get("/events?limit=1")
        return response.headers["x-next-token"]

    @pytest.mark.parametrize("garbled", ["abc", "!!!!", "", "a" * 64, "%E2%98%83", "eyJldmVudElkIjoieCJ9"])
    def test_garbled_token_is_400(self, api: ApiClient, token: str, garbled: str) -> None:
        assert_error(api.get(f"/events?limit=1&nextToken={garbled}"), 400, "nextToken")

    def test_overlong_token_is_400(self, api: ApiClient, token: str) -> None:
        assert_error(api.get(f"/events?limit=1&nextToken={token * 100}"), 400, "nextToken")

    def test_every_single_character_edit_is_400(self, api: ApiClient, token: str) -> None:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        for index, char in enumerate(token):
            replacement = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
            edited = token[:index] + replacement + token[index + 1 :]
            response = api.get(f"/events?limit=1&nextToken={edited}")
            assert response.status == 400, (index, edited, response.body)

    @pytest.mark.parametrize(
        "edit",
        [
            lambda t: t[:-1],
            lambda t: t[1:],
            lambda t: t + "A",
            lambda t: t + "==",
            lambda t: t[:10] + "." + t[10:],
            lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else t + "!",
            lambda t: t[::-1],
        ],
    )
    def test_truncated_extended_or_re_encoded_token_is_400(self, api: ApiClient, token: str, edit: Any) -> None:
        edited = edit(token)
        assert edited != token
        response = api.get(f"/events?limit=1&nextToken={edited.replace('+', '%2B').replace('/', '%2F')}")
        assert_error(response, 400, "nextToken")

    def test_token_works_on_its_own_list(self, api: ApiClient, token: str) -> None:
        response = api.get(f"/events?limit=1&nextToken={token}")
        assert response.status == 200 and len(response.body) == 1

    @pytest.mark.parametrize(
        ("source", "target"),
        [
            ("/events?status=active&limit=1", "/events?limit=1"),
            ("/events?limit=1", "/events?status=active&limit=1"),
            ("/events?status=active&limit=1", "/events?status=draft&limit=1"),
        ],
    )
    def test_token_from_another_list_is_400(self, api: ApiClient, source: str, target: str) -> None:
        for status in ("active", "active", "draft", "draft"):
            make_event(api, status=status)
        token = api.get(source).headers["x-next-token"]

        assert_error(api.get(f"{target}&nextToken={token}"), 400, "nextToken")

    def test_token_from_an_event_registrations_list_is_400_on_events(self, api: ApiClient) -> None:
        event = make_event(api)
        for n in range(3):
            user_id = uid(f"user{n}")
            api.post("/users", {"userId": user_id, "name": f"Person {n}"})
            assert api.post(f"/events/{event['eventId']}/registrations", {"userId": user_id}).status == 201
        make_event(api)
        make_event(api)
        registrations_token = api.get(f"/events/{event['eventId']}/registrations?limit=1").headers["x-next-token"]
        events_token = api.get("/events?limit=1").headers["x-next-token"]

        assert_error(api.get(f"/events?limit=1&nextToken={registrations_token}"), 400, "nextToken")
        assert_error(
            api.get(f"/events/{event['eventId']}/registrations?limit=1&nextToken={events_token}"), 400, "nextToken"
        )
