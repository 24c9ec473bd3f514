"""`AUTH=on make run`: the same permission rules over HTTP, through serverless-offline and the local
stand-in for the Cognito authorizer (plugins/local-auth-provider.js), with tokens from local/auth.py.

The whole matrix of tests/auth_matrix.py — every route (documents and public ones included), by {no
token, expired token, token signed by another key, attendee acting on self, attendee acting on
another user, organizer owning the event, organizer not owning it, admin} — the one
tests/functions/test_auth.py runs in-process. Every protected route also gets four more broken
tokens (wrong audience, not a JWT, no `Bearer`, an identity-override header). Every request carries
an `Origin`, so every answer must carry CORS headers, refusals included.

One stack serves the module. First every refusal and every read, all on one world of fresh users
and events (each is checked to change nothing, so each leaves it as the next needs it), with every table of the embedded DynamoDB (the idempotency table included)
scanned before and after: nothing may change. Then every allowed write, each on a fresh world of
its own — last, so the background work they start (promotion after an unregistration) cannot
land inside a refusal's before-and-after."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local import auth as local_auth
from local.config import FAKE_AWS, ROOT
from tests import auth_matrix as matrix
from tests.auth_matrix import ATTENDEE, GROUPS, OWNER
from tests.helpers import stored_items
from tests.integration.stack import LocalStack, free_ports, start_stack

pytestmark = pytest.mark.integration

ORIGIN = "http://localhost:5173"


@dataclass
class AuthStack:
    """The matrix's Session over HTTP: the stack, its signing key, and its DynamoDB endpoint."""

    stack: LocalStack
    keys: Path
    dynamodb: Any
    key: rsa.RSAPrivateKey

    def send(self, method: str, path: str, body: Any, headers: dict[str, str]) -> matrix.Answer:
        response = self.stack.request(method, path, json=body, headers={**headers, "Origin": ORIGIN})
        answer = matrix.Answer(
            response.status_code,
            {name.lower(): value for name, value in response.headers.items()},
            matrix.parse_json(response.text),
        )
        assert answer.headers.get("access-control-allow-origin"), (method, path, answer.status, "no CORS headers")
        return answer

    def snapshot(self) -> dict[str, list[str]]:
        return stored_items(self.dynamodb)

    def token(self, user: str, **claims: Any) -> str:
        return matrix.token(self.key, user, GROUPS.get(user, ()), **claims)


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    keys = local_auth.ensure_keys(tmp_path_factory.mktemp("local-auth"))
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
        yield AuthStack(stack, keys, client, local_auth.load_private_key(keys))
    finally:
        stack.stop(signal.SIGTERM)
        stack.kill_leftovers()


@pytest.fixture(scope="module")
def shared_world(auth_stack: AuthStack) -> matrix.World:
    """One world for every refusal and read: each is checked to change nothing, so each leaves the
    world as the next one needs it."""
    return matrix.build_world(auth_stack)


@pytest.mark.parametrize("route", matrix.ROUTES)
def test_refusals_and_reads_change_nothing(auth_stack: AuthStack, shared_world: matrix.World, route: str) -> None:
    matrix.check_refusals_and_reads(auth_stack, route, matrix.GATEWAY_FAULTS, shared_world)


@pytest.mark.parametrize("route", [r for r in matrix.ROUTES if any(matrix.writes(r, p) for p in matrix.PERSONAS)])
def test_allowed_writes(auth_stack: AuthStack, route: str) -> None:
    matrix.check_allowed_writes(auth_stack, route)


def test_the_creator_owns_the_event(auth_stack: AuthStack) -> None:
    world = matrix.build_world(auth_stack)
    answer = auth_stack.send("GET", f"/events/{world.open}", None, {})
    assert answer.status == 200 and answer.body["ownerId"] == world.users[OWNER]


def test_make_token_prints_a_token_the_stack_accepts(auth_stack: AuthStack) -> None:
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
    world = matrix.build_world(auth_stack)
    response = auth_stack.stack.get(f"/users/{world.users[ATTENDEE]}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def _environ() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key != "USER"} | {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    }
