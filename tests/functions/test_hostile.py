"""The hostile-input corpus: every write route (POST /events, PUT and DELETE /events/{eventId},
POST /users, POST /events/{eventId}/registrations, DELETE /events/{eventId}/registrations/{userId})
fed malformed JSON, bodies that are not objects, wrong types, out-of-range numbers, oversized
strings and bodies, control characters, hostile identifiers, unknown and read-only fields.

Each case must answer 400, 404 or 413 (never a 500) with a body that is exactly
{"detail": <non-empty str>}, and leave every stored item byte for byte as it was. The per-route
test files hold the finer rules; this is the consolidated corpus, with its count."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import config
from tests.builders import ApiClient, LambdaContext, api_event
from tests.helpers import reset_process_caches, stored_items

MAX_BODY = 64 * 1024
EVENT = "evt-hostile"  # full (capacity 1): HOLDER confirmed, WAITER on the waitlist
HOLDER = "user-holder"
WAITER = "user-waiter"
SPARE = "user-spare"  # exists, registered nowhere
EVENT_PATH = f"/events/{EVENT}"
REGISTRATIONS_PATH = f"/events/{EVENT}/registrations"

_ABSENT = object()


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    body: Any = _ABSENT  # serialised with json.dumps
    raw: str | None = None  # sent as is
    headers: dict[str, str] = field(default_factory=dict)
    statuses: frozenset[int] = frozenset({400})
    event_body: Any = _ABSENT  # the event's "body" itself, when it is not text


def case(
    id: str,
    method: str,
    path: str,
    body: Any = _ABSENT,
    *,
    raw: str | None = None,
    headers: dict[str, str] | None = None,
    status: int | set[int] = 400,
) -> Case:
    statuses = frozenset(status if isinstance(status, set) else {status})
    return Case(id, method, path, body, raw, headers or {}, statuses)


def event_body(**fields: Any) -> dict[str, Any]:
    return {
        "eventId": "evt-new",
        "title": "Talk",
        "date": "2026-12-01",
        "location": "Hall",
        "organizer": "Org",
        **fields,
    }


# -- the corpus ------------------------------------------------------------------------------------

BODY_ROUTES = [
    ("create-event", "POST", "/events"),
    ("update-event", "PUT", EVENT_PATH),
    ("create-user", "POST", "/users"),
    ("register", "POST", REGISTRATIONS_PATH),
]

MALFORMED_JSON = {
    "unclosed": "{",
    "trailing-comma": '{"name": "Ada",}',
    "single-quotes": "{'name': 'Ada'}",
    "extra-brace": '{"name": "Ada"}}',
    "trailing-garbage": '{"name": "Ada"} x',
    "bare-word": "hello",
    "empty": "",
    "whitespace": "   \n\t ",
    "nul-only": "\x00",
    "bom-prefixed": '\ufeff{"name": "Ada"}',
    "too-deep": "[" * 30_000 + "]" * 30_000,
}

NOT_OBJECTS = {
    "array": "[]",
    "array-of-object": '[{"name": "Ada", "userId": "u-1", "title": "T"}]',
    "string": '"Ada"',
    "number": "42",
    "null": "null",
    "true": "true",
}

HOSTILE_IDS = {
    "slash": "a/b",
    "dot-dot-slash": "../etc",
    "hash": "a#b",
    "space": "a b",
    "leading-space": " abc",
    "unicode": "é",
    "cjk": "日本",
    "emoji": "🎫",
    "rtl-override": "abc\u202e",
    "zero-width": "a\u200bb",
    "nul": "a\x00b",
    "newline": "abc\n",
    "tab": "a\tb",
    "too-long": "x" * 65,
    "empty": "",
    "percent-encoded-slash": "a%2Fb",
    "question-mark": "a?b",
    "quote": 'a"b',
}

HOSTILE_PATH_IDS = {
    "slash": "a/b",
    "dot-dot": "..",
    "hash": "a#b",
    "space": "a b",
    "encoded-space": "a%20b",
    "unicode": "é",
    "nul": "a\x00b",
    "encoded-nul": "a%00b",
    "newline": "abc\n",
    "too-long": "x" * 65,
    "percent-encoded-slash": "a%2Fb",
    "quote": 'a"b',
}


HUGE = "9" * 5000
HUGE_NUMBERS = {"int": HUGE, "negative": "-" + HUGE, "fraction": HUGE + ".5", "exponent": HUGE + "e5"}
VALID_BODIES: dict[str, dict[str, Any]] = {
    "create-event": event_body(),
    "update-event": {"title": "Renamed"},
    "create-user": {"name": "Ada"},
    "register": {"userId": SPARE},
}
BODY_FIELDS = {
    "create-event": (*event_body(), "description", "status", "capacity", "waitlistEnabled"),
    "update-event": ("title", "description", "date", "location", "organizer", "status", "capacity", "waitlistEnabled"),
    "create-user": ("userId", "name"),
    "register": ("userId",),
}


def with_raw_field(route: str, field_name: str, raw_value: str) -> str:
    """A valid body of the route with one field set to a raw JSON text."""
    return json.dumps({**VALID_BODIES[route], field_name: "<raw>"}).replace('"<raw>"', raw_value)


def _corpus() -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    body: Any  # the literals below mix every JSON type on purpose
    fields: Any

    # Malformed JSON and bodies that are not objects, on every route that takes a body
    for route, method, path in BODY_ROUTES:
        for name, raw in MALFORMED_JSON.items():
            add(case(f"{route}/malformed/{name}", method, path, raw=raw))
        for name, raw in NOT_OBJECTS.items():
            add(case(f"{route}/not-object/{name}", method, path, raw=raw))
        add(case(f"{route}/no-body", method, path))
        add(
            case(
                f"{route}/content-type/text",
                method,
                path,
                raw='{"name": "Ada"}',
                headers={"Content-Type": "text/plain"},
            )
        )
        add(
            case(
                f"{route}/content-type/form",
                method,
                path,
                raw="name=Ada&userId=u-1",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        )
        # serverless-offline parses a JSON body of `false` or `0` and hands the value over, not the text
        for name, value in (("false", False), ("zero", 0), ("zero-float", 0.0)):
            add(Case(f"{route}/offline-parsed-body/{name}", method, path, raw="x", event_body=value))
        # Oversized bodies: 413 whatever they hold
        add(case(f"{route}/oversized/garbage", method, path, raw="x" * (MAX_BODY + 1), status=413))
        add(case(f"{route}/oversized/valid-json", method, path, {"name": "a" * (MAX_BODY + 1)}, status=413))
        multibyte = json.dumps({"title": "€" * 22_000}, ensure_ascii=False)  # 22k characters, 66 KB
        add(case(f"{route}/oversized/multibyte", method, path, raw=multibyte, status=413))

    # JSON numbers Python's int() refuses (over 4,300 digits), in every field, nested and unknown
    for route, method, path in BODY_ROUTES:
        for field_name in (*BODY_FIELDS[route], "unknown"):
            for name, number in HUGE_NUMBERS.items():
                add(
                    case(
                        f"{route}/huge-number/{field_name}/{name}",
                        method,
                        path,
                        raw=with_raw_field(route, field_name, number),
                    )
                )
        add(case(f"{route}/huge-number/nested", method, path, raw=with_raw_field(route, "x", f'[{{"a": {HUGE}}}]')))

    # A field given twice: which value counts would depend on the parser (Python keeps the last),
    # so the body is ambiguous, whether the two values differ or not
    for route, method, path in BODY_ROUTES:
        for field_name in BODY_FIELDS[route]:
            given = json.dumps(VALID_BODIES[route].get(field_name, "x"))
            raw = with_raw_field(route, field_name, f"{given}, {json.dumps(field_name)}: {given}")
            add(case(f"{route}/duplicate-key/{field_name}", method, path, raw=raw))
        raw = with_raw_field(route, "x", '[{"a": 1, "a": 2}]')
        add(case(f"{route}/duplicate-key/nested", method, path, raw=raw))

    # Bodies on the DELETE routes do not make them act: oversized is still 413
    for route, path in (("delete-event", EVENT_PATH), ("unregister", f"{REGISTRATIONS_PATH}/{HOLDER}")):
        add(case(f"{route}/oversized-body", "DELETE", path, raw="x" * (MAX_BODY + 1), status=413))

    # POST /events: wrong types, out-of-range numbers, bad strings, mass assignment
    for name, fields in {
        "capacity-bool": {"capacity": True},
        "capacity-string": {"capacity": "5"},
        "capacity-float": {"capacity": 5.0},
        "capacity-fraction": {"capacity": 2.5},
        "capacity-zero": {"capacity": 0},
        "capacity-negative": {"capacity": -1},
        "capacity-huge": {"capacity": 10**30},
        "capacity-over-max": {"capacity": 1_000_001},
        "capacity-list": {"capacity": [5]},
        "capacity-object": {"capacity": {"$gt": 0}},
        "waitlist-string": {"waitlistEnabled": "yes"},
        "waitlist-string-true": {"waitlistEnabled": "true"},
        "waitlist-int": {"waitlistEnabled": 1},
        "waitlist-null": {"waitlistEnabled": None},
        "title-number": {"title": 123},
        "title-null": {"title": None},
        "title-empty": {"title": ""},
        "title-too-long": {"title": "t" * 201},
        "title-nul": {"title": "Talk\x00"},
        "title-newline": {"title": "Talk\nInjected: header"},
        "title-escape": {"title": "\x1b[31mred"},
        "description-too-long": {"description": "d" * 2001},
        "description-bell": {"description": "ding\x07"},
        "description-c1-csi": {"description": "ding\x9b31m"},
        "title-c1-next-line": {"title": "Talk\x85"},
        "location-list": {"location": ["Hall"]},
        "organizer-missing": {"organizer": _ABSENT},
        "date-impossible": {"date": "2026-13-45"},
        "date-week": {"date": "2026-W01-1"},
        "date-number": {"date": 20261201},
        "date-words": {"date": "next tuesday"},
        "status-uppercase": {"status": "ACTIVE"},
        "status-unknown": {"status": "open"},
        "status-null": {"status": None},
        "read-only-registeredCount": {"registeredCount": 5},
        "read-only-waitlistCount": {"waitlistCount": 0},
        "read-only-createdAt": {"createdAt": "2020-01-01T00:00:00Z"},
        "read-only-updatedAt": {"updatedAt": "2020-01-01T00:00:00Z"},
        "unknown-waitlistSeq": {"waitlistSeq": 10**12},
        "unknown-deleting": {"deleting": True},
        "unknown-admin": {"isAdmin": True},
        "existing-event-id-with-counters": {"eventId": EVENT, "registeredCount": 0},
    }.items():
        body = {key: value for key, value in event_body(**fields).items() if value is not _ABSENT}
        add(case(f"create-event/{name}", "POST", "/events", body))
    for name, hostile in HOSTILE_IDS.items():
        add(case(f"create-event/event-id/{name}", "POST", "/events", event_body(eventId=hostile)))
    for name, raw_value in {"nan": "NaN", "infinity": "Infinity", "exponent": "1e400", "minus-zero": "-0"}.items():
        raw = json.dumps(event_body())[:-1] + f', "capacity": {raw_value}}}'
        add(case(f"create-event/capacity-{name}", "POST", "/events", raw=raw))

    # PUT /events/{eventId}: the same rules for a partial body, plus fields that cannot change
    for name, body in {
        "empty-object": {},
        "capacity-bool": {"capacity": False},
        "capacity-string": {"capacity": "10"},
        "capacity-float": {"capacity": 3.0},
        "capacity-zero": {"capacity": 0},
        "capacity-negative": {"capacity": -5},
        "capacity-huge": {"capacity": 10**30},
        "waitlist-string": {"waitlistEnabled": "false"},
        "waitlist-null": {"waitlistEnabled": None},
        "title-null": {"title": None},
        "title-nul": {"title": "a\x00b"},
        "title-too-long": {"title": "t" * 201},
        "status-null": {"status": None},
        "status-uppercase": {"status": "Cancelled"},
        "date-garbage": {"date": "2026-02-30"},
        "event-id": {"eventId": "evt-other"},
        "read-only-registeredCount": {"registeredCount": 0},
        "read-only-waitlistCount": {"waitlistCount": 0},
        "read-only-createdAt": {"createdAt": "2020-01-01T00:00:00Z"},
        "read-only-with-valid-field": {"title": "Renamed", "registeredCount": 0},
        "unknown-waitlistSeq": {"waitlistSeq": 0},
        "unknown-deleting": {"deleting": True},
    }.items():
        add(case(f"update-event/{name}", "PUT", EVENT_PATH, body))
    for name, hostile in HOSTILE_PATH_IDS.items():
        add(case(f"update-event/path-id/{name}", "PUT", f"/events/{hostile}", {"title": "Renamed"}, status={400, 404}))
    add(case("update-event/unknown-event", "PUT", "/events/evt-missing", {"title": "Renamed"}, status=404))

    # DELETE /events/{eventId}
    for name, hostile in HOSTILE_PATH_IDS.items():
        add(case(f"delete-event/path-id/{name}", "DELETE", f"/events/{hostile}", status={400, 404}))
    add(case("delete-event/unknown-event", "DELETE", "/events/evt-missing", status=404))
    add(case("delete-event/prefix-of-existing", "DELETE", "/events/evt-hostil", status=404))

    # POST /users
    for name, body in {
        "name-missing": {"userId": "u-1"},
        "name-empty": {"name": ""},
        "name-blank": {"name": "   \t  "},
        "name-too-long": {"name": "n" * 201},
        "name-number": {"name": 42},
        "name-null": {"name": None},
        "name-bool": {"name": True},
        "name-list": {"name": ["Ada"]},
        "name-nul": {"name": "Ada\x00"},
        "name-newline": {"name": "Ada\nLovelace"},
        "name-delete-char": {"name": "Ada\x7f"},
        "name-c1-csi": {"name": "Ada\x9b31mLovelace"},
        "user-id-number": {"userId": 123, "name": "Ada"},
        "user-id-bool": {"userId": True, "name": "Ada"},
        "user-id-object": {"userId": {"$ne": ""}, "name": "Ada"},
        "read-only-createdAt": {"name": "Ada", "createdAt": "2020-01-01T00:00:00Z"},
        "unknown-role": {"name": "Ada", "role": "admin"},
        "unknown-registrations": {"name": "Ada", "registrations": [EVENT]},
    }.items():
        add(case(f"create-user/{name}", "POST", "/users", body))
    for name, hostile in HOSTILE_IDS.items():
        add(case(f"create-user/user-id/{name}", "POST", "/users", {"userId": hostile, "name": "Ada"}))
    add(case("create-user/lone-surrogate-name", "POST", "/users", raw='{"name": "\\ud800"}'))

    # POST /events/{eventId}/registrations
    for name, body in {
        "user-id-missing": {},
        "user-id-null": {"userId": None},
        "user-id-number": {"userId": 7},
        "user-id-list": {"userId": [SPARE]},
        "user-id-object": {"userId": {"S": SPARE}},
        "status-confirmed": {"userId": SPARE, "status": "confirmed"},
        "status-waitlisted": {"userId": SPARE, "status": "waitlisted"},
        "position": {"userId": SPARE, "position": 1},
        "ticket": {"userId": SPARE, "ticket": 0},
        "registered-at": {"userId": SPARE, "registeredAt": "2020-01-01T00:00:00Z"},
        "event-id-in-body": {"userId": SPARE, "eventId": "evt-other"},
        "read-only-registeredCount": {"userId": SPARE, "registeredCount": 0},
    }.items():
        add(case(f"register/{name}", "POST", REGISTRATIONS_PATH, body))
    for name, hostile in HOSTILE_IDS.items():
        add(case(f"register/user-id/{name}", "POST", REGISTRATIONS_PATH, {"userId": hostile}))
    for name, hostile in HOSTILE_PATH_IDS.items():
        add(
            case(
                f"register/path-id/{name}",
                "POST",
                f"/events/{hostile}/registrations",
                {"userId": SPARE},
                status={400, 404},
            )
        )
    add(case("register/unknown-event", "POST", "/events/evt-missing/registrations", {"userId": SPARE}, status=404))
    add(case("register/unknown-user", "POST", REGISTRATIONS_PATH, {"userId": "user-missing"}, status=404))

    # DELETE /events/{eventId}/registrations/{userId}
    for name, hostile in HOSTILE_PATH_IDS.items():
        add(case(f"unregister/user-id/{name}", "DELETE", f"{REGISTRATIONS_PATH}/{hostile}", status={400, 404}))
        add(
            case(
                f"unregister/event-id/{name}", "DELETE", f"/events/{hostile}/registrations/{HOLDER}", status={400, 404}
            )
        )
    add(case("unregister/not-registered", "DELETE", f"{REGISTRATIONS_PATH}/{SPARE}", status=404))
    add(case("unregister/unknown-user", "DELETE", f"{REGISTRATIONS_PATH}/user-missing", status=404))
    add(case("unregister/unknown-event", "DELETE", f"/events/evt-missing/registrations/{HOLDER}", status=404))
    return cases


CORPUS = _corpus()
# The route each case id starts with.
WRITE_ROUTES = {
    "create-event": "POST /events",
    "update-event": "PUT /events/{eventId}",
    "delete-event": "DELETE /events/{eventId}",
    "create-user": "POST /users",
    "register": "POST /events/{eventId}/registrations",
    "unregister": "DELETE /events/{eventId}/registrations/{userId}",
}


# -- running a case --------------------------------------------------------------------------------


def send(api: ApiClient, hostile: Case) -> tuple[int, str, str]:
    """The request exactly as given (a '#', '?' or NUL in the path included, which URL parsing
    would cut or refuse) to the handler serverless.yml routes it to. Returns the status, the raw
    body and the handler module."""
    module_name, params, resource = api.handler_for(hostile.method, hostile.path)
    raw = hostile.raw
    if raw is None and hostile.body is not _ABSENT:
        raw = json.dumps(hostile.body)
    event = api_event(hostile.method, "/placeholder", raw_body=raw, headers=hostile.headers, resource=resource)
    event["path"] = event["requestContext"]["path"] = hostile.path
    event["pathParameters"] = params or None
    if hostile.event_body is not _ABSENT:
        event["body"] = hostile.event_body
    result = importlib.import_module(module_name).lambda_handler(event, LambdaContext())
    return result["statusCode"], result.get("body") or "", module_name


@dataclass
class Store:
    client: Any
    api: ApiClient
    baseline: dict[str, list[str]] = field(default_factory=dict)

    def reset(self) -> None:
        """Fresh tables, seeded; the baseline every case must leave intact."""
        for table in self.client.list_tables()["TableNames"]:
            self.client.delete_table(TableName=table)
        config.create_tables(self.client)
        seed(self.api)
        self.baseline = stored_items(self.client)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    """One moto store for the whole corpus (creating the tables for each of 300 cases would
    take a minute): seeded once, and rebuilt only after a case that changed it."""
    with mock_aws():
        reset_process_caches()
        state = Store(boto3.client("dynamodb", region_name="us-east-1"), ApiClient())
        state.reset()
        yield state
    reset_process_caches()


def seed(api: ApiClient) -> None:
    body = {**event_body(eventId=EVENT), "capacity": 1, "waitlistEnabled": True}
    assert api.post("/events", body).status == 201
    for user_id in (HOLDER, WAITER, SPARE):
        assert api.post("/users", {"userId": user_id, "name": user_id.title()}).status == 201
    assert api.post(REGISTRATIONS_PATH, {"userId": HOLDER}).body["status"] == "confirmed"
    assert api.post(REGISTRATIONS_PATH, {"userId": WAITER}).body["status"] == "waitlisted"


def test_corpus_has_at_least_100_cases_across_every_write_route() -> None:
    ids = [hostile.id for hostile in CORPUS]
    per_route = Counter(WRITE_ROUTES[hostile_id.split("/")[0]] for hostile_id in ids)

    assert len(ids) == len(set(ids)) >= 100, len(ids)
    assert set(per_route) == set(WRITE_ROUTES.values())
    assert min(per_route.values()) >= 10, per_route


@pytest.mark.parametrize("hostile", CORPUS, ids=[c.id for c in CORPUS])
def test_hostile_request_is_refused_with_detail_and_changes_nothing(store: Store, hostile: Case) -> None:
    # Given a store with an event, users, a confirmed registration and a waitlist entry (seeded)
    # When the hostile request arrives
    status, raw_body, module = send(store.api, hostile)

    # Then nothing stored changed ...
    after = stored_items(store.client)
    if after != store.baseline:
        store.reset()
        pytest.fail(f"{hostile.id} changed stored data (status {status}, body {raw_body[:300]!r})")
    # ... and it is refused as a client error, with exactly {"detail": <non-empty str>}
    assert status != 500, f"500 from {module}: {raw_body}"
    assert status in hostile.statuses, (status, raw_body, module)
    body = json.loads(raw_body)
    assert isinstance(body, dict) and set(body) == {"detail"}, body
    assert isinstance(body["detail"], str) and body["detail"].strip(), body


HUGE_NUMBER_CASES = [c for c in CORPUS if "/huge-number/" in c.id]
DUPLICATE_KEY_CASES = [c for c in CORPUS if "/duplicate-key/" in c.id]


@pytest.mark.parametrize("hostile", HUGE_NUMBER_CASES, ids=[c.id for c in HUGE_NUMBER_CASES])
def test_a_number_python_cannot_read_is_400_naming_its_field(store: Store, hostile: Case) -> None:
    status, raw_body, module = send(store.api, hostile)
    field_name = hostile.id.split("/")[2]
    assert status == 400, (status, raw_body[:300], module)
    assert ("body.x.0.a" if field_name == "nested" else f"body.{field_name}") in json.loads(raw_body)["detail"]


@pytest.mark.parametrize("hostile", DUPLICATE_KEY_CASES, ids=[c.id for c in DUPLICATE_KEY_CASES])
def test_a_field_given_twice_is_400_naming_it(store: Store, hostile: Case) -> None:
    status, raw_body, module = send(store.api, hostile)
    field_name = hostile.id.split("/")[2]
    assert status == 400, (status, raw_body[:300], module)
    detail = json.loads(raw_body)["detail"]
    assert ("body.x.0.a" if field_name == "nested" else f"body.{field_name}") in detail, detail
    assert "more than once" in detail, detail
