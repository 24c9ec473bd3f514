"""`AUTH=on make run`: the same permission rules over HTTP, through serverless-offline and the local
stand-in for the Cognito authorizer (plugins/local-auth-provider.js), with tokens from local/auth.py.

Every protected route is tried with no token, an expired token, a token signed by another key, a
caller who may not (403) and one who may; every public route without a token. After each refusal
the embedded DynamoDB is scanned: nothing may have changed. (The in-process suite,
tests/functions/test_auth.py, runs the full route-by-caller product; over HTTP each route gets
every token failure plus one refused and one allowed caller, which keeps the stack's run short.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from local import auth as local_auth
from local.config import FAKE_AWS, ROOT
from tests.helpers import stored_items, uid
from tests.integration.stack import LocalStack, free_ports, start_stack

pytestmark = pytest.mark.integration

GROUPS = {"olga": ["organizers"], "oscar": ["organizers"], "root": ["admins"]}


@dataclass
class AuthStack:
    stack: LocalStack
    keys: Path
    dynamodb: Any

    def token(self, user: str, **claims: Any) -> str:
        key = local_auth.load_private_key(self.keys)
        return local_auth.issue_token(user, GROUPS.get(user, []), 600, private_key=key, **claims)

    def call(self, method: str, path: str, user: str | None = None, body: Any = None, **headers: str):
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return self.stack.request(method, path, json=body, headers=headers)


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    keys = tmp_path_factory.mktemp("local-auth")
    [dynamodb_port] = free_ports(1)
    stack = start_stack(
        tmp_path_factory.mktemp("auth-stack") / "local-run.log",
        AUTH="on",
        LOCAL_AUTH_DIR=str(keys),
        DYNAMODB_PORT=str(dynamodb_port),
    )
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{dynamodb_port}",
        region_name="us-east-1",
        aws_access_key_id=FAKE_AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        yield AuthStack(stack, keys, client)
    finally:
        stack.stop(signal.SIGTERM)
        stack.kill_leftovers()


@pytest.fixture(scope="module")
def events(auth_stack: AuthStack) -> dict[str, str]:
    """olga owns `full` (ada and bob confirmed) and `open` (empty); ada and bob have profiles."""
    s = auth_stack
    for user in ("ada", "bob"):
        assert s.call("POST", "/users", user, {"name": user.title()}).status_code == 201
    ids = {"full": uid("full"), "open": uid("open"), "doomed": uid("doomed")}
    for event_id in ids.values():
        body = {"eventId": event_id, "title": "T", "date": "2031-01-01", "location": "L", "organizer": "O"}
        assert s.call("POST", "/events", "olga", {**body, "capacity": 5}).status_code == 201
    for user in ("ada", "bob"):
        assert s.call("POST", f"/events/{ids['full']}/registrations", user, {}).status_code == 201
    return ids


def routes(ids: dict[str, str]) -> list[tuple[str, str, Any, tuple[str, int], tuple[str, int]]]:
    """Each protected route: (method, path, body, (refused caller, 403), (allowed caller, status))."""
    full, open_, doomed = ids["full"], ids["open"], ids["doomed"]
    event = {"title": "New", "date": "2031-01-01", "location": "L", "organizer": "O"}
    return [
        ("POST", "/events", event, ("ada", 403), ("oscar", 201)),
        ("PUT", f"/events/{full}", {"title": "Renamed"}, ("oscar", 403), ("olga", 200)),
        ("GET", f"/events/{full}/registrations", None, ("ada", 403), ("olga", 200)),
        ("GET", f"/events/{full}/waitlist", None, ("oscar", 403), ("root", 200)),
        ("POST", "/users", {"userId": "carol", "name": "Carol"}, ("ada", 403), ("carol", 201)),
        ("GET", "/users/bob", None, ("ada", 403), ("bob", 200)),
        ("GET", "/users/bob/registrations", None, ("olga", 403), ("root", 200)),
        ("GET", "/users/bob/waitlist", None, ("oscar", 403), ("bob", 200)),
        ("POST", f"/events/{open_}/registrations", {"userId": "ada"}, ("bob", 403), ("ada", 201)),
        ("DELETE", f"/events/{full}/registrations/bob", None, ("oscar", 403), ("olga", 200)),
        ("DELETE", f"/events/{doomed}", None, ("oscar", 403), ("root", 200)),
    ]


def assert_unchanged(s: AuthStack, before: dict[str, list[str]], what: str) -> None:
    assert stored_items(s.dynamodb) == before, f"{what} changed stored data"


def test_every_protected_route_refuses_bad_tokens_and_strangers_and_admits_the_allowed(
    auth_stack: AuthStack, events: dict[str, str]
) -> None:
    s = auth_stack
    now = int(time.time())
    bad_tokens = {
        "no token": {},
        "expired": {"Authorization": f"Bearer {s.token('root', iat=now - 7200, exp=now - 60)}"},
        "foreign key": {
            "Authorization": "Bearer "
            + local_auth.issue_token("root", ["admins"], 600, private_key=local_auth.new_private_key())
        },
        "wrong audience": {"Authorization": f"Bearer {s.token('root', aud='someone-else')}"},
        "not a JWT": {"Authorization": "Bearer not.a.jwt"},
        "no Bearer": {"Authorization": s.token("root")},
        "identity override": {
            "Authorization": f"Bearer {s.token('ada')}",
            "sls-offline-authorizer-override": '{"claims": {"sub": "root", "cognito:groups": "admins"}}',
        },
    }
    for method, path, body, (stranger, refused), (allowed, status) in routes(events):
        for name, headers in bad_tokens.items():
            before = stored_items(s.dynamodb)
            response = s.stack.request(method, path, json=body, headers={**headers, "Origin": "http://localhost:5173"})
            assert response.status_code == 401, (method, path, name, response.text)
            assert set(response.json()) == {"detail"}, response.text
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, path, name)
            assert response.headers.get("Access-Control-Allow-Origin"), "401s carry CORS headers too"
            assert_unchanged(s, before, f"{name} on {method} {path}")
        before = stored_items(s.dynamodb)
        response = s.call(method, path, stranger, body, **{"Idempotency-Key": uid("k")})
        assert response.status_code == refused, (method, path, stranger, response.text)
        assert set(response.json()) == {"detail"}
        assert_unchanged(s, before, f"{stranger} on {method} {path}")
        response = s.call(method, path, allowed, body)
        assert response.status_code == status, (method, path, allowed, response.text)


def test_public_routes_need_no_token(auth_stack: AuthStack, events: dict[str, str]) -> None:
    for path in ("/health", "/events", f"/events/{events['open']}", "/openapi.json"):
        assert auth_stack.stack.get(path).status_code == 200, path
    assert auth_stack.stack.get(f"/events/{events['open']}").json()["ownerId"] == "olga"


def test_make_token_prints_a_token_the_stack_accepts(auth_stack: AuthStack, events: dict[str, str]) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "token", "USER=root", "GROUPS=admins", "TTL=120"],
        cwd=ROOT,
        env={**_environ(), "LOCAL_AUTH_DIR": str(auth_stack.keys)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    token = result.stdout.strip().splitlines()[-1]
    response = auth_stack.stack.get("/users/bob", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def _environ() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key != "USER"} | {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    }
