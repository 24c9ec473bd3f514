"""Who is calling, and what they may do: every authorization rule of the API, in one place.

Tokens are verified before a function runs — by API Gateway's Cognito authorizer in the cloud, by
the local stack's stand-in (plugins/local-auth-provider.js) under `AUTH=on make run` — which puts
the verified claims in `requestContext.authorizer.claims`. Functions only read them: no JWT or
crypto library is imported here, reading the caller is a dict lookup.

With AUTH=off (the plain `make run`, or a stage deployed with `--param="auth=off"`) there is no
caller and every rule lets the request through, as before authentication existed.

Rules that depend on stored data (who owns an event) are enforced by the managers with DynamoDB
conditions on the write itself (see `owner_condition`); the rules here need only the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.config import get_settings
from shared.errors import ForbiddenError, UnauthorizedError
from shared.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

ORGANIZERS = "organizers"
ADMINS = "admins"
_LOG_KEY = "callerId"


@dataclass(frozen=True)
class Caller:
    user_id: str
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMINS in self.groups


def enabled() -> bool:
    return get_settings().auth_enabled


def parse_groups(value: Any) -> frozenset[str]:
    """`cognito:groups` as it reaches a function: a list (a decoded token), or a string — API
    Gateway flattens claims to strings, as "a,b", "[a b]" or a JSON array."""
    if isinstance(value, list):
        return frozenset(str(group) for group in value)
    if not isinstance(value, str) or not value.strip():
        return frozenset()
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text[1:-1].split()
        if isinstance(parsed, list):
            return frozenset(str(group) for group in parsed)
    return frozenset(group.strip() for group in text.split(",") if group.strip())


def caller_of(app: APIGatewayRestResolver) -> Caller | None:
    """The verified caller (None with auth off). With auth on and no verified subject: 401."""
    if not enabled():
        return None
    context = app.current_event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise UnauthorizedError("A valid bearer token is required")
    # The id, never the token: every log line of this request carries who asked.
    logger.append_keys(**{_LOG_KEY: subject})
    return Caller(subject, parse_groups(claims.get("cognito:groups")))


def caller_id(app: APIGatewayRestResolver) -> str | None:
    caller = caller_of(app)
    return caller.user_id if caller else None


def forget_caller(app: APIGatewayRestResolver, next_middleware: Callable[..., Response]) -> Response:
    """Global middleware: a warm process must not log the previous request's caller."""
    logger.remove_keys([_LOG_KEY])
    return next_middleware(app)


# -- rules that need only the request ---------------------------------------------------------


def acting_as(caller: Caller | None, requested: str | None) -> str | None:
    """The user a self-service request acts for (POST /users, POST …/registrations): the caller,
    whether `userId` is omitted or equal to theirs; anyone else is a 403. Auth off: as requested."""
    if caller is None:
        return requested
    if requested is not None and requested != caller.user_id:
        raise ForbiddenError(f"You may act only for yourself: userId must be omitted or {caller.user_id!r}")
    return caller.user_id


def require_self_or_admin(caller: Caller | None, user_id: str) -> None:
    """A user's profile and lists: that user, or an admin."""
    if caller is not None and caller.user_id != user_id and not caller.is_admin:
        raise ForbiddenError(f"Only {user_id!r} or an admin may see this")


def require_group(caller: Caller | None, group: str) -> str | None:
    """The caller's id when they belong to `group` (None with auth off); otherwise 403."""
    if caller is None:
        return None
    if group not in caller.groups:
        raise ForbiddenError(f"This needs membership of the {group!r} group")
    return caller.user_id


# -- rules on stored data: the condition a manager puts on its write ---------------------------


def owner_condition(caller: Caller | None) -> str | None:
    """The ownerId an event must have for this caller to change it or read its attendees: None when
    anyone may (auth off, or an admin)."""
    if caller is None or caller.is_admin:
        return None
    return caller.user_id


def unregister_condition(caller: Caller | None, user_id: str) -> str | None:
    """Unregistering `user_id`: the user themselves and admins always may (None); anyone else
    only as the event's owner (their id, for the condition on the write)."""
    if caller is None or caller.user_id == user_id or caller.is_admin:
        return None
    return caller.user_id


def check_owner(required_owner: str | None, owner_id: str | None, event_id: str) -> None:
    """For reads, where there is no write to put a condition on."""
    if required_owner is not None and owner_id != required_owner:
        raise not_owner(event_id)


def not_owner(event_id: str) -> ForbiddenError:
    return ForbiddenError(f"Only the owner of event {event_id} or an admin may do this")


# -- route middlewares: refuse before anything runs (idempotency records included) --------------


def organizers_only(app: APIGatewayRestResolver, next_middleware: Callable[..., Response]) -> Response:
    require_group(caller_of(app), ORGANIZERS)
    return next_middleware(app)


def self_in_body(app: APIGatewayRestResolver, next_middleware: Callable[..., Response]) -> Response:
    body = app.current_event.json_body
    acting_as(caller_of(app), body.get("userId") if isinstance(body, dict) else None)
    return next_middleware(app)


def self_or_admin_in_path(app: APIGatewayRestResolver, next_middleware: Callable[..., Response]) -> Response:
    require_self_or_admin(caller_of(app), (app.current_event.path_parameters or {}).get("userId", ""))
    return next_middleware(app)
