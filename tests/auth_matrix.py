"""The identity-and-access matrix of SPEC.md, written once: every route by every kind of caller, the
request each caller makes and the status it must get. Two transports run it — in-process behind the
test client's stand-in for the gateway (tests/functions/test_auth.py) and over HTTP on an
`AUTH=on` local stack (tests/integration/test_auth_http.py) — so the two cannot drift apart.

A `Session` is what a transport provides: send a request, dump every table, and the key the
stack trusts. `check_refusals_and_reads` runs every cell that must change nothing on one shared
world of fresh users and events, and compares every table (the idempotency table included) before
and after each; `check_allowed_writes` gives each allowed write a fresh world of its own."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import rsa

from local import auth as local_auth

# Roles: who a world's users are. Each world gives every role a fresh user id.
ATTENDEE, OTHER, WAITING, OWNER, ORGANIZER, ADMIN, NEWCOMER = (
    "ada",
    "bob",
    "wendy",
    "olga",
    "oscar",
    "root",
    "newbie",
)
ROLES = (ATTENDEE, OTHER, WAITING, OWNER, ORGANIZER, ADMIN, NEWCOMER)
GROUPS: dict[str, tuple[str, ...]] = {OWNER: ("organizers",), ORGANIZER: ("organizers",), ADMIN: ("admins",)}

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
TOKEN_FAILURES = PERSONAS[:3]

PUBLIC = [
    "GET /health",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/swagger-ui.js",
    "GET /docs/swagger-ui.css",
    "GET /events",
    "GET /events/{eventId}",
]
PROTECTED = [
    "POST /events",
    "PUT /events/{eventId}",
    "DELETE /events/{eventId}",
    "GET /events/{eventId}/registrations",
    "GET /events/{eventId}/waitlist",
    "POST /events/{eventId}/registrations",
    "DELETE /events/{eventId}/registrations/{userId}",
    "POST /users",
    "GET /users/{userId}",
    "GET /users/{userId}/registrations",
    "GET /users/{userId}/waitlist",
]
ROUTES = PUBLIC + PROTECTED

# The status each persona gets, in the order of PERSONAS:
#   no token, expired, foreign key | attendee on self, on other | owner, organizer not owner, admin
_EVERYONE = (200,) * 8
_OWNER_OR_ADMIN = (401, 401, 401, 403, 403, 200, 403, 200)
_SELF_OR_ADMIN = (401, 401, 401, 200, 403, 403, 403, 200)
EXPECTED: dict[str, dict[str, int]] = {
    route: dict(zip(PERSONAS, statuses, strict=True))
    for route, statuses in {
        **dict.fromkeys(PUBLIC, _EVERYONE),
        "POST /events": (401, 401, 401, 403, 403, 201, 201, 403),
        "PUT /events/{eventId}": _OWNER_OR_ADMIN,
        "DELETE /events/{eventId}": _OWNER_OR_ADMIN,
        "GET /events/{eventId}/registrations": _OWNER_OR_ADMIN,
        "GET /events/{eventId}/waitlist": _OWNER_OR_ADMIN,
        "POST /events/{eventId}/registrations": (401, 401, 401, 201, 403, 403, 403, 403),
        "DELETE /events/{eventId}/registrations/{userId}": (401, 401, 401, 200, 403, 200, 403, 200),
        "POST /users": (401, 401, 401, 201, 403, 201, 201, 403),
        "GET /users/{userId}": _SELF_OR_ADMIN,
        "GET /users/{userId}/registrations": _SELF_OR_ADMIN,
        "GET /users/{userId}/waitlist": _SELF_OR_ADMIN,
    }.items()
}
REFUSALS = {401, 403}


def event_body(**fields: Any) -> dict[str, Any]:
    return {"title": "Talk", "date": "2031-01-01", "location": "Hall", "organizer": "Org", **fields}


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class World:
    """Fresh ids for one run: `full` (capacity 2) has ATTENDEE and OTHER confirmed and WAITING on
    its waitlist, `open` (capacity 10) nobody; OWNER owns both; NEWCOMER has no profile yet."""

    users: dict[str, str] = field(default_factory=lambda: {role: fresh(role) for role in ROLES})
    full: str = field(default_factory=lambda: fresh("full"))
    open: str = field(default_factory=lambda: fresh("open"))


@dataclass(frozen=True)
class Cell:
    """One request of the matrix: who sends it (`role`, None for no token), with what kind of
    token, and the status it must get."""

    route: str
    persona: str
    method: str
    path: str
    body: Any
    role: str | None
    status: int

    @property
    def refused(self) -> bool:
        return self.status in REFUSALS

    @property
    def writes(self) -> bool:
        return writes(self.route, self.persona)


def writes(route: str, persona: str) -> bool:
    """Allowed and not a read: the cell changes stored data, so it gets a world of its own."""
    return EXPECTED[route][persona] not in REFUSALS and not route.startswith("GET ")


def cell(world: World, route: str, persona: str) -> Cell:
    """The request `persona` makes on `route`, and the status EXPECTED gives it. The three token
    failures make the request of "attendee on self", with a missing, expired or foreign token."""
    u = world.users
    who = "attendee on self" if persona in TOKEN_FAILURES else persona
    role = {
        "attendee on self": ATTENDEE,
        "attendee on other": ATTENDEE,
        "owner": OWNER,
        "organizer not owner": ORGANIZER,
        "admin": ADMIN,
    }[who]
    method, template = route.split(" ", 1)
    path, body = template, None
    if route == "POST /events":
        body = event_body(eventId=fresh("new"))
    elif route in {"PUT /events/{eventId}", "GET /events/{eventId}"} or route.startswith("GET /events/{eventId}/"):
        path = template.replace("{eventId}", world.full)
        body = {"title": "Renamed"} if method == "PUT" else None
    elif route == "DELETE /events/{eventId}":
        path = f"/events/{world.full}"
    elif route == "POST /users":
        # Everyone creates their own profile (the attendee as a newcomer without one), except the
        # attendee on other and the admin, who name someone else.
        if who == "attendee on self":
            role, body = NEWCOMER, {"userId": u[NEWCOMER], "name": "New"}
        elif who in {"attendee on other", "admin"}:
            body = {"userId": fresh("someone"), "name": "Someone"}
        else:
            body = {"name": "Someone"}
    elif route.startswith("GET /users/{userId}"):
        # The attendee asks for their own profile or lists; everyone else for OTHER's.
        path = template.replace("{userId}", u[ATTENDEE] if who == "attendee on self" else u[OTHER])
    elif route == "POST /events/{eventId}/registrations":
        # For oneself with userId omitted; everyone else names someone (the attendee: OTHER).
        path = f"/events/{world.open}/registrations"
        body = {} if who == "attendee on self" else {"userId": u[OTHER] if who == "attendee on other" else u[ATTENDEE]}
    elif route == "DELETE /events/{eventId}/registrations/{userId}":
        # The attendee removes their own registration, the admin a waitlist entry, the others OTHER's.
        user = {"attendee on self": ATTENDEE, "admin": WAITING}.get(who, OTHER)
        path = f"/events/{world.full}/registrations/{u[user]}"
    return Cell(route, persona, method, path, body, None if persona == "no token" else role, EXPECTED[route][persona])


# -- running it ------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names lower-case
    body: Any  # parsed JSON, or None


class Session(Protocol):
    key: rsa.RSAPrivateKey

    def send(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Answer: ...

    def snapshot(self) -> dict[str, list[str]]: ...


def token(key: rsa.RSAPrivateKey, user_id: str, groups: tuple[str, ...] = (), **claims: Any) -> str:
    return local_auth.issue_token(user_id, groups, 600, private_key=key, **claims)


@cache
def foreign_key() -> rsa.RSAPrivateKey:
    """A signing key no stack trusts (made once: an RSA key takes a while)."""
    return local_auth.new_private_key()


def authorization(session: Session, world: World, role: str | None, persona: str = "") -> dict[str, str]:
    """The Authorization header of `role` in `world` (none for None): expired or signed by a key
    the stack does not trust when `persona` says so, else valid."""
    if role is None:
        return {}
    user_id, groups = world.users[role], GROUPS.get(role, ())
    if persona == "expired token":
        now = int(time.time())
        signed = token(session.key, user_id, groups, iat=now - 3600, exp=now - 60)
    elif persona == "foreign key":
        signed = token(foreign_key(), user_id, groups)
    else:
        signed = token(session.key, user_id, groups)
    return {"Authorization": f"Bearer {signed}"}


def build_world(session: Session) -> World:
    """A fresh world, made through the API by the users themselves (8 requests)."""
    world = World()

    def as_role(role: str, method: str, path: str, body: Any, status: int) -> None:
        answer = session.send(method, path, body, authorization(session, world, role))
        assert answer.status == status, (method, path, role, answer.status, answer.body)

    for role in (ATTENDEE, OTHER, WAITING):
        as_role(role, "POST", "/users", {"name": role.title()}, 201)
    for event_id, capacity in ((world.full, 2), (world.open, 10)):
        as_role(OWNER, "POST", "/events", event_body(eventId=event_id, capacity=capacity, waitlistEnabled=True), 201)
    for role in (ATTENDEE, OTHER, WAITING):
        as_role(role, "POST", f"/events/{world.full}/registrations", {}, 201)
    return world


def send(session: Session, world: World, c: Cell, extra: dict[str, str] | None = None) -> Answer:
    headers = {**authorization(session, world, c.role, c.persona), **(extra or {})}
    if c.method == "POST":
        # A refused request must not even leave an idempotency record behind.
        headers["Idempotency-Key"] = fresh("key")
    answer = session.send(c.method, c.path, c.body, headers)
    assert answer.status == c.status, (c.route, c.persona, answer.status, answer.body)
    if c.refused:
        assert_refusal(answer, c.status, f"{c.route} by {c.persona}")
    return answer


def assert_refusal(answer: Answer, status: int, what: str) -> None:
    assert answer.status == status, (what, answer.status, answer.body)
    assert isinstance(answer.body, dict) and set(answer.body) == {"detail"}, (what, answer.body)
    assert isinstance(answer.body["detail"], str) and answer.body["detail"], (what, answer.body)
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer"), what


# A token fault beyond the matrix's three: the headers of a request the world's admin would make.
TokenFault = Callable[[Session, World], dict[str, str]]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


_EVERYTHING = ("admins", "organizers")
# What the local gateway (plugins/local-auth-provider.js) must refuse too, over HTTP; the last is
# serverless-offline's own header for faking an authorizer's answer.
GATEWAY_FAULTS: dict[str, TokenFault] = {
    "wrong audience": lambda s, w: _bearer(token(s.key, w.users[ADMIN], _EVERYTHING, aud="someone-else")),
    "not a JWT": lambda s, w: _bearer("not.a.jwt"),
    "no Bearer": lambda s, w: {"Authorization": token(s.key, w.users[ADMIN], _EVERYTHING)},
    "identity override": lambda s, w: {
        **_bearer(token(s.key, w.users[ATTENDEE])),
        "sls-offline-authorizer-override": json.dumps({"claims": {"sub": w.users[ADMIN], "cognito:groups": "admins"}}),
    },
}


def check_refusals_and_reads(
    session: Session, route: str, extra_faults: dict[str, TokenFault] | None = None, world: World | None = None
) -> int:
    """Every cell of `route` that must change nothing (refusals and reads), on one world (`world`,
    else a fresh one); every table is compared before and after each. Then, on protected routes,
    each of `extra_faults` must be a 401 that changes nothing too. Returns the requests sent."""
    world = world or build_world(session)
    before = session.snapshot()
    sent = 0
    for persona in PERSONAS:
        c = cell(world, route, persona)
        if c.writes:
            continue
        send(session, world, c)
        sent += 1
        assert session.snapshot() == before, f"{route} by {persona} ({c.status}) changed stored data"
    if route in PROTECTED:
        for name, fault in (extra_faults or {}).items():
            c = cell(world, route, "admin")
            answer = session.send(c.method, c.path, c.body, fault(session, world))
            assert_refusal(answer, 401, f"{route} with {name}")
            sent += 1
            assert session.snapshot() == before, f"{route} with {name} changed stored data"
    return sent


def check_allowed_writes(session: Session, route: str) -> int:
    """Every allowed write of `route`, each on a fresh world of its own: the status, and stored
    data did change. Returns the number of matrix requests sent (world set-up not counted)."""
    sent = 0
    for persona in PERSONAS:
        if not writes(route, persona):
            continue
        world = build_world(session)
        c = cell(world, route, persona)
        before = session.snapshot()
        send(session, world, c)
        sent += 1
        assert session.snapshot() != before, f"{route} by {persona} answered {c.status} but changed nothing"
    return sent


def parse_json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
