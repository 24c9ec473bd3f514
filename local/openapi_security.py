"""Security of the OpenAPI document: which operations need `Authorization: Bearer <JWT>` and what
they answer without one. The list comes from serverless.yml (a route with an `authorizer` is
protected), the same source the gateway is built from, so the document cannot drift from it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SCHEME = "bearerAuth"
SECURITY_SCHEMES = {
    SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "A Cognito ID token of the stage's user pool (locally: `make token USER=<id>` against "
            "`AUTH=on make run`). Its subject is the caller's userId; the `cognito:groups` claim "
            "grants `organizers` (create events) and `admins` (everything)."
        ),
    }
}
UNAUTHORIZED = "Missing, malformed, expired or invalid bearer token (with `WWW-Authenticate: Bearer`)"
FORBIDDEN = "Authenticated, but not allowed: not your own user, not the event's owner, or not in the required group"


def protected_operations() -> set[tuple[str, str]]:
    """(method, path) of every route serverless.yml puts behind the authorizer."""
    from local.config import load

    protected = set()
    for function in load()["functions"].values():
        for event in function.get("events", []):
            http = event.get("http")
            if isinstance(http, dict) and "authorizer" in http:
                protected.add((http["method"].lower(), "/" + http["path"].strip("/")))
    return protected


def describe_security(document: dict[str, Any], error: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    protected = protected_operations()
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            if (method, path) not in protected:
                continue
            operation["security"] = [{SCHEME: []}]
            responses = {int(code): response for code, response in operation["responses"].items()}
            responses.setdefault(401, error(UNAUTHORIZED))
            responses.setdefault(403, error(FORBIDDEN))
            operation["responses"] = dict(sorted(responses.items()))
    document.setdefault("components", {}).setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    return document
