"""What each route answers, for the OpenAPI document only (never imported by a Lambda, so it costs
no cold start): operationId, success status and body, the route-specific errors and why they
happen, and the links from each answer to the operations its ids feed. local.openapi adds what
every route shares (400, 413, 429, 500, 503, headers)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field


class Event(BaseModel):
    eventId: str
    title: str
    description: str
    date: str
    location: str
    organizer: str
    status: Literal["draft", "scheduled", "active", "cancelled", "completed"]
    capacity: int | None = Field(description="null: unlimited")
    waitlistEnabled: bool
    createdAt: str
    updatedAt: str
    registeredCount: int
    waitlistCount: int
    ownerId: str | None = Field(default=None, description="Who created it (absent when authentication was off)")


class User(BaseModel):
    userId: str
    name: str
    createdAt: str


class Confirmed(BaseModel):
    userId: str
    eventId: str
    status: Literal["confirmed"]
    registeredAt: str


class Waitlisted(BaseModel):
    userId: str
    eventId: str
    status: Literal["waitlisted"]
    position: int = Field(description="Live place in line, 1 = next to be promoted")
    addedAt: str


class EventRegistration(Confirmed):
    name: str


class EventWaitlistEntry(BaseModel):
    userId: str
    eventId: str
    position: int
    addedAt: str
    name: str


class UserRegistration(Event):
    registeredAt: str


class UserWaitlistEntry(Event):
    position: int
    addedAt: str


class Message(BaseModel):
    message: str


class Health(BaseModel):
    status: Literal["healthy"]


MODELS: list[type[BaseModel]] = [
    Event,
    User,
    Confirmed,
    Waitlisted,
    EventRegistration,
    EventWaitlistEntry,
    UserRegistration,
    UserWaitlistEntry,
    Message,
    Health,
]

# (method, path) → (success status, description, body: model name, "[model name]" for an array,
# or "Confirmed|Waitlisted" for either), and the route's own errors: status → when it happens.
# The errors every route shares (400, 413, 429, 500, 503) are added by local.openapi. A route
# without an entry keeps what Powertools derives from its handler (200 and its return type).
_NO_EVENT = "No event with this eventId"
_NO_USER = "No user with this userId"
_KEY_REUSED = "the Idempotency-Key was already used with another body, or its first request is still running"
ROUTES: dict[tuple[str, str], tuple[int, str, str, dict[int, str]]] = {
    ("get", "/health"): (200, "Healthy", "Health", {}),
    ("post", "/events"): (
        201,
        "Event created",
        "Event",
        {409: f"An event with this eventId exists or is still being deleted, or {_KEY_REUSED}"},
    ),
    ("get", "/events"): (200, "Events (one page)", "[Event]", {}),
    ("get", "/events/{eventId}"): (200, "The event", "Event", {404: _NO_EVENT}),
    ("put", "/events/{eventId}"): (
        200,
        "The updated event (a raised capacity is offered to the waitlist in the background, within seconds)",
        "Event",
        {404: _NO_EVENT, 409: "capacity below the number of confirmed registrations"},
    ),
    ("delete", "/events/{eventId}"): (
        200,
        "Event deleted: 404 from now on; its registrations and waitlist are removed at once, or in the background",
        "Message",
        {404: _NO_EVENT},
    ),
    ("post", "/users"): (201, "User created", "User", {409: f"A user with this userId exists, or {_KEY_REUSED}"}),
    ("get", "/users/{userId}"): (200, "The user", "User", {404: _NO_USER}),
    ("get", "/users/{userId}/registrations"): (
        200,
        "The user's events (one page)",
        "[UserRegistration]",
        {404: _NO_USER},
    ),
    ("get", "/users/{userId}/waitlist"): (
        200,
        "Events the user waits for (one page)",
        "[UserWaitlistEntry]",
        {404: _NO_USER},
    ),
    ("post", "/events/{eventId}/registrations"): (
        201,
        "Confirmed, or waitlisted with a position",
        "Confirmed|Waitlisted",
        {
            404: "No event with this eventId, or no user with this userId",
            409: "The event is not open (draft, cancelled, completed), the user is already registered or "
            f"waiting, the event is full and has no waitlist (`Event is full`), or {_KEY_REUSED}",
        },
    ),
    ("delete", "/events/{eventId}/registrations/{userId}"): (
        200,
        "Registration or waitlist entry removed",
        "Message",
        {404: "The user is neither registered for nor waiting for this event"},
    ),
    ("get", "/events/{eventId}/registrations"): (
        200,
        "Confirmed registrations, oldest first",
        "[EventRegistration]",
        {404: _NO_EVENT},
    ),
    ("get", "/events/{eventId}/waitlist"): (
        200,
        "Waitlist entries by position",
        "[EventWaitlistEntry]",
        {404: _NO_EVENT},
    ),
}


def _operation_ids() -> dict[tuple[str, str], str]:
    """Short, stable operationIds (Powertools derives them from function name and path): the name
    of the serverless.yml function that serves the route. They name the functions of generated
    clients, and the links below point at them."""
    from local.config import load

    service = load()
    return {
        (event["http"]["method"].lower(), "/" + event["http"]["path"].strip("/")): name
        for name, function in service["functions"].items()
        if name != service["custom"]["routes"]["fallbackFunction"]
        for event in function.get("events", [])
        if "http" in event
    }


OPERATION_IDS = _operation_ids()


@cache
def idempotent_operations() -> frozenset[tuple[str, str]]:
    """(method, path) of every route `shared.idempotency.idempotent` guards: they take the
    Idempotency-Key header and answer Idempotent-Replayed. Read off the imported resolvers."""
    import importlib

    from local.openapi import documented_modules
    from shared.idempotency import MARK

    found = set()
    for module in documented_modules():
        app = importlib.import_module(module).app
        for route in app._static_routes + app._dynamic_routes:
            if getattr(route.func, MARK, False):
                found.add((route.method.lower(), re.sub(r"<(\w+)>", r"{\1}", route.path)))
    return frozenset(found)


# OpenAPI links: which answer yields the ids another operation takes, so that clients, generators
# and stateful fuzzers can chain calls (create event → create users → register → list → unregister
# → waitlist). (source operation, status) → link name → (target operation, parameters, request body).
_EVENT_ID = "$response.body#/eventId"
_USER_ID = "$response.body#/userId"
_Link = tuple[tuple[str, str], dict[str, str], Any]
LINKS: dict[tuple[str, str], dict[str, _Link]] = {
    ("post", "/events"): {
        "GetEvent": (("get", "/events/{eventId}"), {"eventId": _EVENT_ID}, None),
        "UpdateEvent": (("put", "/events/{eventId}"), {"eventId": _EVENT_ID}, None),
        "DeleteEvent": (("delete", "/events/{eventId}"), {"eventId": _EVENT_ID}, None),
        "RegisterForEvent": (("post", "/events/{eventId}/registrations"), {"eventId": _EVENT_ID}, None),
        "ListEventRegistrations": (("get", "/events/{eventId}/registrations"), {"eventId": _EVENT_ID}, None),
        "ListEventWaitlist": (("get", "/events/{eventId}/waitlist"), {"eventId": _EVENT_ID}, None),
    },
    ("put", "/events/{eventId}"): {
        "GetEvent": (("get", "/events/{eventId}"), {"eventId": _EVENT_ID}, None),
        "RegisterForEvent": (("post", "/events/{eventId}/registrations"), {"eventId": _EVENT_ID}, None),
        "ListEventWaitlist": (("get", "/events/{eventId}/waitlist"), {"eventId": _EVENT_ID}, None),
    },
    ("post", "/users"): {
        "GetUser": (("get", "/users/{userId}"), {"userId": _USER_ID}, None),
        "ListUserRegistrations": (("get", "/users/{userId}/registrations"), {"userId": _USER_ID}, None),
        "ListUserWaitlist": (("get", "/users/{userId}/waitlist"), {"userId": _USER_ID}, None),
        "RegisterUser": (("post", "/events/{eventId}/registrations"), {}, {"userId": _USER_ID}),
    },
    ("post", "/events/{eventId}/registrations"): {
        "Unregister": (
            ("delete", "/events/{eventId}/registrations/{userId}"),
            {"eventId": _EVENT_ID, "userId": _USER_ID},
            None,
        ),
        "ListEventRegistrations": (("get", "/events/{eventId}/registrations"), {"eventId": _EVENT_ID}, None),
        "ListEventWaitlist": (("get", "/events/{eventId}/waitlist"), {"eventId": _EVENT_ID}, None),
        "ListUserRegistrations": (("get", "/users/{userId}/registrations"), {"userId": _USER_ID}, None),
        "ListUserWaitlist": (("get", "/users/{userId}/waitlist"), {"userId": _USER_ID}, None),
    },
    ("get", "/events/{eventId}"): {
        "RegisterForEvent": (("post", "/events/{eventId}/registrations"), {"eventId": _EVENT_ID}, None),
    },
    ("get", "/users/{userId}"): {
        "RegisterUser": (("post", "/events/{eventId}/registrations"), {}, {"userId": _USER_ID}),
    },
    # A list's entries carry the ids that unregistering (from the seat or the waitlist) takes.
    ("get", "/events/{eventId}/registrations"): {
        "UnregisterFirst": (
            ("delete", "/events/{eventId}/registrations/{userId}"),
            {"eventId": "$request.path.eventId", "userId": "$response.body#/0/userId"},
            None,
        ),
    },
    ("get", "/events/{eventId}/waitlist"): {
        "UnregisterFirst": (
            ("delete", "/events/{eventId}/registrations/{userId}"),
            {"eventId": "$request.path.eventId", "userId": "$response.body#/0/userId"},
            None,
        ),
    },
    ("get", "/users/{userId}/registrations"): {
        "UnregisterFromFirst": (
            ("delete", "/events/{eventId}/registrations/{userId}"),
            {"eventId": "$response.body#/0/eventId", "userId": "$request.path.userId"},
            None,
        ),
    },
    ("get", "/users/{userId}/waitlist"): {
        "UnregisterFromFirst": (
            ("delete", "/events/{eventId}/registrations/{userId}"),
            {"eventId": "$response.body#/0/eventId", "userId": "$request.path.userId"},
            None,
        ),
    },
    ("delete", "/events/{eventId}/registrations/{userId}"): {
        # The freed seat goes to the head of the waitlist, asynchronously.
        "ListEventRegistrations": (
            ("get", "/events/{eventId}/registrations"),
            {"eventId": "$request.path.eventId"},
            None,
        ),
        "ListEventWaitlist": (("get", "/events/{eventId}/waitlist"), {"eventId": "$request.path.eventId"}, None),
    },
}


# Where a path's ids come from when no link above feeds them: the answer that creates them. A new
# route with ids in its path is linked from there by default, so it needs no entry of its own.
_CREATORS: dict[frozenset[str], tuple[tuple[str, str], dict[str, str]]] = {
    frozenset({"eventId"}): (("post", "/events"), {"eventId": _EVENT_ID}),
    frozenset({"userId"}): (("post", "/users"), {"userId": _USER_ID}),
    frozenset({"eventId", "userId"}): (
        ("post", "/events/{eventId}/registrations"),
        {"eventId": _EVENT_ID, "userId": _USER_ID},
    ),
}


def _path_ids(path: str) -> frozenset[str]:
    return frozenset(re.findall(r"\{(\w+)\}", path))


def _default_links() -> None:
    fed = {
        target
        for links in LINKS.values()
        for target, parameters, _ in links.values()
        if set(parameters) == _path_ids(target[1])
    }
    for target in OPERATION_IDS:
        ids = _path_ids(target[1])
        if ids and target not in fed and ids in _CREATORS:
            source, parameters = _CREATORS[ids]
            name = OPERATION_IDS[target][:1].upper() + OPERATION_IDS[target][1:]
            LINKS.setdefault(source, {}).setdefault(name, (target, parameters, None))


_default_links()


def _ref(name: str) -> dict[str, Any]:
    if name.startswith("["):
        return {"type": "array", "items": _ref(name[1:-1])}
    if "|" in name:
        return {"oneOf": [_ref(part) for part in name.split("|")]}
    return {"$ref": f"#/components/schemas/{name}"}


def schemas() -> dict[str, Any]:
    return {model.__name__: model.model_json_schema(ref_template="#/components/schemas/{model}") for model in MODELS}


def _links(source: tuple[str, str]) -> dict[str, Any]:
    links = {}
    for name, (target, parameters, body) in LINKS.get(source, {}).items():
        link: dict[str, Any] = {"operationId": OPERATION_IDS[target]}
        if parameters:
            link["parameters"] = parameters
        if body is not None:
            link["requestBody"] = body
        links[name] = link
    return links


def describe_routes(document: dict[str, Any], error: Any) -> None:
    """Sets each operation's success response (body, links) and route-specific errors
    (`error(description)` builds one)."""
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            if (method, path) not in OPERATION_IDS:
                continue
            operation["operationId"] = OPERATION_IDS[(method, path)]
            if (method, path) not in ROUTES:
                continue
            status, description, body, errors = ROUTES[(method, path)]
            responses = operation["responses"]
            responses.pop("200", None) or responses.pop(200, None)
            responses[status] = {"description": description, "content": {"application/json": {"schema": _ref(body)}}}
            links = _links((method, path))
            if links:
                responses[status]["links"] = links
            for code, when in errors.items():
                responses.setdefault(code, error(when))
