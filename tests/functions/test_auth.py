"""Identity and access with authentication on, in-process: every route by every kind of caller.

The client plays API Gateway's Cognito authorizer with the local signing key (local/auth.py):
a missing, expired or foreign token is a 401 that never reaches a function; a valid one becomes
requestContext.authorizer.claims. The functions then apply the permission rules of SPEC.md. The
matrix itself — routes, personas, each cell's request and status — is tests/auth_matrix.py, which
tests/integration/test_auth_http.py runs over HTTP too. Every refusal (401 or 403), and every
read, must leave every table — the idempotency table included — byte-identical."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local import auth as local_auth
from shared.auth import parse_groups
from shared.config import get_settings
from tests import auth_matrix as matrix
from tests.auth_matrix import ATTENDEE, GROUPS, ORGANIZER, OTHER, OWNER, WAITING
from tests.builders import ApiClient, ApiResponse, LambdaContext, api_event
from tests.helpers import assert_error, event_body, stored_items, uid


@dataclass
class InProcess:
    """The matrix's Session for the in-process client on moto."""

    api: ApiClient
    dynamodb: Any
    key: rsa.RSAPrivateKey
    requests: int = 0

    def send(self, method: str, path: str, body: Any, headers: dict[str, str]) -> matrix.Answer:
        self.requests += 1
        response = self.api.request(method, path, body, headers=headers)
        return matrix.Answer(response.status, response.headers, response.body)

    def snapshot(self) -> dict[str, list[str]]:
        return stored_items(self.dynamodb)


@dataclass
class World:
    api: ApiClient
    keys: Path
    ids: matrix.World

    @property
    def full(self) -> str:
        return self.ids.full

    @property
    def open(self) -> str:
        return self.ids.open

    def user(self, role: str) -> str:
        return self.ids.users[role]

    def token(self, user: str, **claims: Any) -> str:
        """A valid token for a role of the world, or for any other user id (no groups)."""
        key = local_auth.load_private_key(self.keys)
        groups = GROUPS.get(user, ())
        return matrix.token(key, self.ids.users.get(user, user), groups, **claims)

    def as_user(self, user: str, method: str, path: str, body: Any = None, **headers: str) -> ApiResponse:
        return self.api.request(method, path, body, headers={"Authorization": f"Bearer {self.token(user)}", **headers})


@pytest.fixture
def auth_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("AUTH", "on")
    get_settings.cache_clear()
    yield local_auth.ensure_keys(tmp_path / "keys")
    get_settings.cache_clear()


@pytest.fixture
def session(dynamodb: Any, auth_keys: Path) -> InProcess:
    return InProcess(ApiClient(auth_keys=auth_keys), dynamodb, local_auth.load_private_key(auth_keys))


@pytest.fixture
def world(session: InProcess, auth_keys: Path) -> World:
    """ATTENDEE and OTHER confirmed for `full` (capacity 2), WAITING on its waitlist; `open` empty;
    OWNER owns both (tests/auth_matrix.py's world, ids fresh)."""
    return World(session.api, auth_keys, matrix.build_world(session))


def test_the_matrix_names_every_route_of_serverless_yml() -> None:
    from shared.api.routes import ROUTES

    declared = {f"{method} {path}" for path, methods in ROUTES.items() for method in methods}
    assert declared == set(matrix.ROUTES)
    assert set(matrix.ROUTES) == set(matrix.EXPECTED)
    protected = {f"{method} {resource}" for _, method, _, _, resource, authorized in ApiClient()._routes if authorized}
    assert protected == set(matrix.PROTECTED), "serverless.yml puts the authorizer on exactly the protected routes"


def test_readme_counts_the_matrix_as_it_runs() -> None:
    """The reliability table of README.md cites these numbers: they follow the matrix."""
    from tests.readme import README

    row = next(line for line in README.read_text().splitlines() if "callers acting beyond their rights" in line)
    cells = len(matrix.ROUTES) * len(matrix.PERSONAS)
    writes = sum(matrix.writes(route, persona) for route in matrix.ROUTES for persona in matrix.PERSONAS)
    faults = len(matrix.PROTECTED) * len(matrix.GATEWAY_FAULTS)
    assert f"the {len(matrix.ROUTES)} of `serverless.yml`" in row
    assert f"`tests/functions/test_auth.py`: {cells} route-caller requests" in row
    assert f"`tests/integration/test_auth_http.py`: the same {cells} plus {faults} bad-token requests" in row
    assert f"{len(matrix.GATEWAY_FAULTS)} more bad tokens" in row
    assert f"each of the {writes} allowed writes" in row


@pytest.mark.parametrize("route", matrix.ROUTES)
def test_route_by_caller(session: InProcess, route: str) -> None:
    """Every persona on one route: refusals and reads on one world (each must change nothing), then
    each allowed write on a fresh world of its own."""
    matrix.check_refusals_and_reads(session, route)
    matrix.check_allowed_writes(session, route)


def test_the_creator_owns_the_event_and_the_owner_cannot_be_set(world: World) -> None:
    created = world.as_user(ORGANIZER, "POST", "/events", event_body(eventId=uid("mine")))
    assert created.status == 201 and created.body["ownerId"] == world.user(ORGANIZER)
    assert world.api.get(f"/events/{created.body['eventId']}").body["ownerId"] == world.user(ORGANIZER)
    forged = world.as_user(ORGANIZER, "POST", "/events", event_body(eventId=uid("x"), ownerId=world.user(ATTENDEE)))
    assert_error(forged, 400, "ownerId")
    assert_error(world.as_user(OWNER, "PUT", f"/events/{world.full}", {"ownerId": ORGANIZER}), 400, "ownerId")


def test_users_act_as_the_token_subject(world: World) -> None:
    response = world.as_user("carol", "POST", "/users", {"name": "Carol"})
    assert response.status == 201 and response.body["userId"] == "carol"
    joined = world.as_user("carol", "POST", f"/events/{world.open}/registrations", {"userId": "carol"})
    assert joined.status == 201 and joined.body["userId"] == "carol"


def test_an_owner_can_remove_a_waitlisted_attendee_and_a_stranger_cannot(world: World, dynamodb: Any) -> None:
    before = stored_items(dynamodb)
    assert_error(world.as_user(ORGANIZER, "DELETE", f"/events/{world.full}/registrations/{world.user(WAITING)}"), 403)
    assert stored_items(dynamodb) == before
    assert world.as_user(OWNER, "DELETE", f"/events/{world.full}/registrations/{world.user(WAITING)}").status == 200


def test_a_stranger_learns_nothing_about_who_is_registered(world: World) -> None:
    # Registered or not, the answer to a stranger is the same 403.
    for user in (world.user(OTHER), "nobody-registered"):
        assert_error(world.as_user(ORGANIZER, "DELETE", f"/events/{world.full}/registrations/{user}"), 403)
    # An unknown event is a 404 for everyone: events are public.
    assert_error(world.as_user(ORGANIZER, "PUT", f"/events/{uid('none')}", {"title": "x"}), 404)
    assert_error(world.as_user(ORGANIZER, "GET", f"/events/{uid('none')}/registrations"), 404)


def test_ownership_is_checked_by_the_write_itself(world: World, dynamodb: Any) -> None:
    """The event a non-owner aims at may be deleted and re-created by someone else meanwhile; the
    owner condition sits on the DynamoDB write, so no read can go stale in between."""
    from shared.errors import ForbiddenError
    from shared.repositories.deletion import EventDeletionRepository
    from shared.repositories.events import EventRepository

    before = stored_items(dynamodb)
    with pytest.raises(ForbiddenError):
        EventDeletionRepository().try_delete_at_once(world.full, owner=world.user(ORGANIZER))
    with pytest.raises(ForbiddenError):
        EventRepository().mark_deleting(world.full, owner=world.user(ORGANIZER))
    with pytest.raises(ForbiddenError):
        EventRepository().update(world.full, {"title": "x"}, "2026-01-01T00:00:00+00:00", owner=world.user(ORGANIZER))
    assert stored_items(dynamodb) == before


def test_idempotency_keys_are_scoped_to_the_caller(world: World) -> None:
    body = event_body(title="Same body")
    first = world.as_user(OWNER, "POST", "/events", body, **{"Idempotency-Key": "shared-key"})
    second = world.as_user(ORGANIZER, "POST", "/events", body, **{"Idempotency-Key": "shared-key"})
    again = world.as_user(OWNER, "POST", "/events", body, **{"Idempotency-Key": "shared-key"})
    assert first.status == second.status == again.status == 201
    assert first.body["eventId"] != second.body["eventId"]
    assert (first.body["ownerId"], second.body["ownerId"]) == (world.user(OWNER), world.user(ORGANIZER))
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
    assert actions and all(line.get("callerId") == world.user(OWNER) for line in actions)
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
