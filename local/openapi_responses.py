"""What each route answers, for the OpenAPI document only (never imported by a Lambda, so it costs
no cold start): success status and body, and the route-specific errors. shared.api adds 400, 413
and 500 everywhere; the table here adds 201 for creations, the bodies, and 404 / 409 / 503."""

from __future__ import annotations

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
# or "Confirmed|Waitlisted" for either), route-specific error statuses.
ROUTES: dict[tuple[str, str], tuple[int, str, str, tuple[int, ...]]] = {
    ("get", "/health"): (200, "Healthy", "Health", ()),
    ("post", "/events"): (201, "Event created", "Event", (409,)),
    ("get", "/events"): (200, "Events (one page)", "[Event]", ()),
    ("get", "/events/{eventId}"): (200, "The event", "Event", (404,)),
    ("put", "/events/{eventId}"): (200, "The updated event", "Event", (404, 409, 503)),
    ("delete", "/events/{eventId}"): (200, "Event, registrations and waitlist deleted", "Message", (404,)),
    ("post", "/users"): (201, "User created", "User", (409,)),
    ("get", "/users/{userId}"): (200, "The user", "User", (404,)),
    ("get", "/users/{userId}/registrations"): (200, "The user's events (one page)", "[UserRegistration]", (404,)),
    ("get", "/users/{userId}/waitlist"): (200, "Events the user waits for (one page)", "[UserWaitlistEntry]", (404,)),
    ("post", "/events/{eventId}/registrations"): (
        201,
        "Confirmed, or waitlisted with a position",
        "Confirmed|Waitlisted",
        (404, 409, 503),
    ),
    ("delete", "/events/{eventId}/registrations/{userId}"): (
        200,
        "Registration or waitlist entry removed",
        "Message",
        (404, 503),
    ),
    ("get", "/events/{eventId}/registrations"): (
        200,
        "Confirmed registrations, oldest first",
        "[EventRegistration]",
        (404,),
    ),
    ("get", "/events/{eventId}/waitlist"): (200, "Waitlist entries by position", "[EventWaitlistEntry]", (404,)),
}

ERRORS = {
    404: "Event, user or registration not found",
    409: "Conflict: already exists / registered / waiting, event not open, event full, capacity below the confirmed count, or Idempotency-Key reused with another body",
    503: "DynamoDB stayed busy: retry after Retry-After seconds",
}

IDEMPOTENT = {("post", "/events"), ("post", "/users"), ("post", "/events/{eventId}/registrations")}


def _ref(name: str) -> dict[str, Any]:
    if name.startswith("["):
        return {"type": "array", "items": _ref(name[1:-1])}
    if "|" in name:
        return {"oneOf": [_ref(part) for part in name.split("|")]}
    return {"$ref": f"#/components/schemas/{name}"}


def schemas() -> dict[str, Any]:
    return {model.__name__: model.model_json_schema(ref_template="#/components/schemas/{model}") for model in MODELS}


def describe_routes(document: dict[str, Any], error: Any) -> None:
    """Sets each operation's success response and route-specific errors (`error(description)` builds one)."""
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            if (method, path) not in ROUTES:
                continue
            status, description, body, errors = ROUTES[(method, path)]
            responses = operation["responses"]
            success = responses.pop("200", None) or responses.pop(200, None) or {}
            headers = success.get("headers")
            responses[status] = {"description": description, "content": {"application/json": {"schema": _ref(body)}}}
            if headers:
                responses[status]["headers"] = headers
            for code in errors:
                responses.setdefault(code, error(ERRORS[code]))
            if (method, path) in IDEMPOTENT:
                operation.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "A retry with the same key and body within an hour returns the first answer",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    }
                )
