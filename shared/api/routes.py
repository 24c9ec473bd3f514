"""Every route of the API, as serverless.yml declares them (a test keeps the two equal). Used to
answer an unknown path with 404 and a known path with the wrong method with 405."""

from __future__ import annotations

import re

ROUTES: dict[str, frozenset[str]] = {
    "/health": frozenset({"GET"}),
    "/openapi.json": frozenset({"GET"}),
    "/docs": frozenset({"GET"}),
    "/docs/swagger-ui.js": frozenset({"GET"}),
    "/docs/swagger-ui.css": frozenset({"GET"}),
    "/events": frozenset({"GET", "POST"}),
    "/events/{eventId}": frozenset({"GET", "PUT", "DELETE"}),
    "/events/{eventId}/registrations": frozenset({"GET", "POST"}),
    "/events/{eventId}/registrations/{userId}": frozenset({"DELETE"}),
    "/events/{eventId}/waitlist": frozenset({"GET"}),
    "/users": frozenset({"POST"}),
    "/users/{userId}": frozenset({"GET"}),
    "/users/{userId}/registrations": frozenset({"GET"}),
    "/users/{userId}/waitlist": frozenset({"GET"}),
}

_PATTERNS = [
    (re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "/?"), methods)
    for path, methods in ROUTES.items()
]


def match(path: str) -> tuple[frozenset[str], dict[str, str]] | None:
    """The methods a path accepts and its path parameters (raw, unvalidated), or None when no
    route has that path. The whole path must match: a trailing newline is not ignored."""
    for pattern, methods in _PATTERNS:
        found = pattern.fullmatch(path)
        if found:
            return methods, found.groupdict()
    return None


def allowed_methods(path: str) -> frozenset[str] | None:
    """The methods a path accepts, or None when no route has that path."""
    route = match(path)
    return route[0] if route else None
