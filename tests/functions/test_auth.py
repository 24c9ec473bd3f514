"""Identity and access with authentication on, in-process: every route by every kind of caller.

The client plays API Gateway's Cognito authorizer with the local signing key (local/auth.py):
a missing, expired or foreign token is a 401 that never reaches a function; a valid one becomes
requestContext.authorizer.claims. The functions then apply the permission rules of SPEC.md. Every
refusal (401 or 403) must leave every table — the idempotency table included — byte-identical."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local import auth as local_auth
from shared.auth import parse_groups
from shared.config import get_settings
from tests.builders import ApiClient, ApiResponse, LambdaContext, api_event
from tests.helpers import assert_error, event_body, stored_items, uid

ATTENDEE, OTHER, WAITING, OWNER, ORGANIZER, ADMIN = "ada", "bob", "wendy", "olga", "oscar", "root"
GROUPS = {ATTENDEE: [], OTHER: [], WAITING: [], OWNER: ["organizers"], ORGANIZER: ["organizers"], ADMIN: ["admins"]}
PERSONAS = [
    "no token",
    "expired token",
    "foreign key",
    "attendee on self",
    "attendee on other",
    "owner",
    "organizer not owner",
    "admin",
]
# The user each persona acts as (the three token failures all carry the attendee's id).
ACTS_AS = {
    "no token": None,
    "expired token": ATTENDEE,
    "foreign key": ATTENDEE,
    "attendee on self": ATTENDEE,
    "attendee on other": ATTENDEE,
    "owner": OWNER,
    "organizer not owner": ORGANIZER,
    "admin": ADMIN,
}


@dataclass
class World:
    api: ApiClient
    keys: Path
    full: str  # owned by OWNER: ATTENDEE and OTHER confirmed, WAITING on the waitlist
    open: str  # owned by OWNER, nobody registered

    def token(self, user: str, *, ttl: int = 600, **claims: Any) -> str:
        key = local_auth.load_private_key(self.keys)
        return local_auth.issue_token(user, GROUPS.get(user, []), ttl, private_key=key, **claims)

    def headers(self, persona: str) -> dict[str, str]:
        user = ACTS_AS[persona]
        if user is None:
            return {}
        if persona == "expired token":
            token = self.token(user, ttl=60, iat=int(time.time()) - 3600, exp=int(time.time()) - 60)
        elif persona == "foreign key":
            token = local_auth.issue_token(user, [], 600, private_key=local_auth.new_private_key())
        else:
            token = self.token(user)
        return {"Authorization": f"Bearer {token}"}

    def as_user(self, user: str, method: str, path: str, body: Any = None, **headers: str) -> ApiResponse:
        return self.api.request(method, path, body, headers={"Authorization": f"Bearer {self.token(user)}", **headers})


@pytest.fixture
def auth_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("AUTH", "on")
    get_settings.cache_clear()
    yield local_auth.ensure_keys(tmp_path / "keys")
    get_settings.cache_clear()


@pytest.fixture
def world(dynamodb: Any, auth_keys: Path) -> World:
    api = ApiClient(auth_keys=auth_keys)
    w = World(api, auth_keys, full=uid("full"), open=uid("open"))
    for user in (ATTENDEE, OTHER, WAITING):
        assert w.as_user(user, "POST", "/users", {"name": user.title()}).status == 201
    for event_id, capacity in ((w.full, 2), (w.open, 10)):
        body = event_body(eventId=event_id, capacity=capacity, waitlistEnabled=True)
        assert w.as_user(OWNER, "POST", "/events", body).status == 201
    for user in (ATTENDEE, OTHER, WAITING):
        assert w.as_user(user, "POST", f"/events/{w.full}/registrations", {}).status == 201
    return w


def expect(persona: str, allowed: int, refused: set[str], *, refusal: int = 403) -> int:
    """401 for every token failure, `refusal` for the personas in `refused`, else `allowed`."""
    if persona in {"no token", "expired token", "foreign key"}:
        return 401
    return refusal if persona in refused else allowed


def case(w: World, route: str, persona: str) -> tuple[str, str, Any, int]:
    """The request `persona` makes on `route`, and the status it must get."""
    me = ACTS_AS[persona] or ATTENDEE
    target = OTHER if persona == "attendee on other" else me
    not_owners = {"attendee on self", "attendee on other", "organizer not owner"}
    if route == "POST /events":
        return (
            "POST",
            "/events",
            event_body(eventId=uid("new")),
            expect(persona, 201, {"attendee on self", "attendee on other", "admin"}),
        )
    if route == "PUT /events/{eventId}":
        return "PUT", f"/events/{w.full}", {"title": "Renamed"}, expect(persona, 200, not_owners)
    if route == "DELETE /events/{eventId}":
        # Both allowed callers delete something: the owner one event, the admin the other.
        event_id = w.open if persona == "admin" else w.full
        return "DELETE", f"/events/{event_id}", None, expect(persona, 200, not_owners)
    if route == "POST /users":
        # Each persona creates their own profile, except "other" and admin, who name someone else.
        if persona == "attendee on self":
            return "POST", "/users", {"userId": "newbie", "name": "New"}, 201
        if persona in {"attendee on other", "admin"}:
            return "POST", "/users", {"userId": uid("someone"), "name": "Someone"}, expect(persona, 403, set())
        return "POST", "/users", {"name": "Someone"}, expect(persona, 201, set())
    if route in {"GET /users/{userId}", "GET /users/{userId}/registrations", "GET /users/{userId}/waitlist"}:
        user = target if persona in {"attendee on self", "attendee on other"} else OTHER
        suffix = route.removeprefix("GET /users/{userId}")
        return (
            "GET",
            f"/users/{user}{suffix}",
            None,
            expect(persona, 200, {"attendee on other", "owner", "organizer not owner"}),
        )
    if route == "POST /events/{eventId}/registrations":
        body = (
            {} if persona == "attendee on self" else {"userId": ATTENDEE if persona != "attendee on other" else OTHER}
        )
        return (
            "POST",
            f"/events/{w.open}/registrations",
            body,
            expect(persona, 201, {"attendee on other", "owner", "organizer not owner", "admin"}),
        )
    if route == "DELETE /events/{eventId}/registrations/{userId}":
        user = {"attendee on self": ATTENDEE, "admin": WAITING}.get(persona, OTHER)
        return (
            "DELETE",
            f"/events/{w.full}/registrations/{user}",
            None,
            expect(persona, 200, {"attendee on other", "organizer not owner"}),
        )
    if route in {"GET /events/{eventId}/registrations", "GET /events/{eventId}/waitlist"}:
        suffix = route.removeprefix("GET /events/{eventId}")
        return "GET", f"/events/{w.full}{suffix}", None, expect(persona, 200, not_owners)
    if route == "GET /events":
        return "GET", "/events", None, 200
    if route == "GET /events/{eventId}":
        return "GET", f"/events/{w.full}", None, 200
    if route == "GET /health":
        return "GET", "/health", None, 200
    raise AssertionError(route)


PROTECTED = [
    "POST /events",
    "PUT /events/{eventId}",
    "DELETE /events/{eventId}",
    "POST /users",
    "GET /users/{userId}",
    "GET /users/{userId}/registrations",
    "GET /users/{userId}/waitlist",
    "POST /events/{eventId}/registrations",
    "DELETE /events/{eventId}/registrations/{userId}",
    "GET /events/{eventId}/registrations",
    "GET /events/{eventId}/waitlist",
]
PUBLIC = ["GET /health", "GET /events", "GET /events/{eventId}"]


def test_the_matrix_names_every_route_of_serverless_yml() -> None:
    from shared.api.routes import ROUTES

    declared = {f"{method} {path}" for path, methods in ROUTES.items() for method in methods}
    documents = {route for route in declared if route == "GET /openapi.json" or route.startswith("GET /docs")}
    assert declared - documents == set(PROTECTED) | set(PUBLIC)


@pytest.mark.parametrize("route", PROTECTED + PUBLIC)
def test_route_by_caller(world: World, dynamodb: Any, route: str) -> None:
    """Every persona on one route, refusals first (they must change nothing, so they can share the
    data the allowed requests then change)."""
    cases = {persona: case(world, route, persona) for persona in PERSONAS}
    for persona in sorted(PERSONAS, key=lambda p: cases[p][3] not in {401, 403}):
        method, path, body, status = cases[persona]
        headers = world.headers(persona)
        if route == "POST /users" and persona == "attendee on self":
            headers = {"Authorization": f"Bearer {world.token('newbie')}"}
        if method == "POST":
            # A refused request must not even leave an idempotency record behind.
            headers["Idempotency-Key"] = uid("key")
        before = stored_items(dynamodb)

        response = world.api.request(method, path, body, headers=headers)

        assert response.status == status, (route, persona, response.status, response.body)
        if status in {401, 403}:
            assert_error(response, status)
            assert stored_items(dynamodb) == before, f"{route} by {persona}: a refusal changed stored data"
            if status == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_creator_owns_the_event_and_the_owner_cannot_be_set(world: World) -> None:
    created = world.as_user(ORGANIZER, "POST", "/events", event_body(eventId=uid("mine")))
    assert created.status == 201 and created.body["ownerId"] == ORGANIZER
    assert world.api.get(f"/events/{created.body['eventId']}").body["ownerId"] == ORGANIZER
    forged = world.as_user(ORGANIZER, "POST", "/events", event_body(eventId=uid("x"), ownerId=ATTENDEE))
    assert_error(forged, 400, "ownerId")
    assert_error(world.as_user(OWNER, "PUT", f"/events/{world.full}", {"ownerId": ORGANIZER}), 400, "ownerId")


def test_users_act_as_the_token_subject(world: World) -> None:
    response = world.as_user("carol", "POST", "/users", {"name": "Carol"})
    assert response.status == 201 and response.body["userId"] == "carol"
    joined = world.as_user("carol", "POST", f"/events/{world.open}/registrations", {"userId": "carol"})
    assert joined.status == 201 and joined.body["userId"] == "carol"


def test_an_owner_can_remove_a_waitlisted_attendee_and_a_stranger_cannot(world: World, dynamodb: Any) -> None:
    before = stored_items(dynamodb)
    assert_error(world.as_user(ORGANIZER, "DELETE", f"/events/{world.full}/registrations/{WAITING}"), 403)
    assert stored_items(dynamodb) == before
    assert world.as_user(OWNER, "DELETE", f"/events/{world.full}/registrations/{WAITING}").status == 200


def test_a_stranger_learns_nothing_about_who_is_registered(world: World) -> None:
    # Registered or not, the answer to a stranger is the same 403.
    for user in (OTHER, "nobody-registered"):
        assert_error(world.as_user(ORGANIZER, "DELETE", f"/events/{world.full}/registrations/{user}"), 403)
    # An unknown event is a 404 for everyone: events are public.
    assert_error(world.as_user(ORGANIZER, "PUT", f"/events/{uid('none')}", {"title": "x"}), 404)
    assert_error(world.as_user(ORGANIZER, "GET", f"/events/{uid('none')}/registrations"), 404)


def test_ownership_is_checked_by_the_write_itself(world: World, dynamodb: Any) -> None:
    """The event a non-owner aims at may be deleted and re-created by someone else meanwhile; the
    owner condition sits on the DynamoDB write, so no read can go stale in between."""
    from shared.errors import ForbiddenError
    from shared.repositories.events import EventRepository

    before = stored_items(dynamodb)
    with pytest.raises(ForbiddenError):
        EventRepository().mark_deleting(world.full, owner=ORGANIZER)
    with pytest.raises(ForbiddenError):
        EventRepository().update(world.full, {"title": "x"}, "2026-01-01T00:00:00+00:00", owner=ORGANIZER)
    assert stored_items(dynamodb) == before


def test_idempotency_keys_are_scoped_to_the_caller(world: World) -> None:
    body = event_body(title="Same body")
    first = world.as_user(OWNER, "POST", "/events", body, **{"Idempotency-Key": "shared-key"})
    second = world.as_user(ORGANIZER, "POST", "/events", body, **{"Idempotency-Key": "shared-key"})
    again = world.as_user(OWNER, "POST", "/events", body, **{"Idempotency-Key": "shared-key"})
    assert first.status == second.status == again.status == 201
    assert first.body["eventId"] != second.body["eventId"]
    assert (first.body["ownerId"], second.body["ownerId"]) == (OWNER, ORGANIZER)
    assert again.body == first.body and again.headers.get("idempotent-replayed") == "true"


def test_a_function_reached_without_verified_claims_refuses(world: World) -> None:
    """Defence in depth: were an authorizer ever missing from a protected route, the function
    itself answers 401 rather than acting for nobody."""
    import functions.users.get as get_user

    event = api_event("GET", f"/users/{ATTENDEE}", path_parameters={"userId": ATTENDEE})
    result = get_user.lambda_handler(event, LambdaContext())
    assert result["statusCode"] == 401
    headers = {key: ", ".join(values) for key, values in (result.get("multiValueHeaders") or {}).items()}
    assert {**headers, **(result.get("headers") or {})}["WWW-Authenticate"] == "Bearer"
    assert set(json.loads(result["body"])) == {"detail"}


def test_logs_carry_the_caller_id_and_never_the_token(world: World, info_logs: io.StringIO) -> None:
    token = world.token(OWNER)
    response = world.api.put(f"/events/{world.full}", {"title": "Logged"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    lines = [json.loads(line) for line in info_logs.getvalue().splitlines() if line.startswith("{")]
    actions = [line for line in lines if line.get("message") == "event updated"]
    assert actions and all(line.get("callerId") == OWNER for line in actions)
    text = json.dumps(lines)
    assert token not in text and token.split(".")[1] not in text


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        (["organizers", "admins"], {"organizers", "admins"}),
        ("organizers,admins", {"organizers", "admins"}),
        ("[organizers admins]", {"organizers", "admins"}),
        ('["admins"]', {"admins"}),
        ("admins", {"admins"}),
        ("", set()),
        (None, set()),
    ],
)
def test_groups_claim_in_every_shape_the_gateway_uses(claim: Any, groups: set[str]) -> None:
    assert parse_groups(claim) == groups
