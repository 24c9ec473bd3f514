"""Schemathesis against the local stack (`make run`): requests generated from the committed
openapi.json, valid ones and invalid ones, for every operation, over HTTP through serverless-offline.

Checked on every response: never a 5xx, and every error body is exactly {"detail": <non-empty str>}.
Failures are collected (with a curl command to replay each) rather than raised inside Hypothesis,
so one run reports all of them and its totals; no shrinking, which against a live stack costs more
than it tells.

Random data alone would almost never reach an existing event (ids are random, and the document's
`date` is any 10-40 characters), so valid requests are steered half of the time: path ids and
`userId` drawn from the events and users that exist, a real date and printable text in event
bodies. PUT and DELETE /events/{eventId} are steered only onto disposable events (seeded for it,
or created by the run), so the others keep their shape for registrations."""

from __future__ import annotations

import json
import random
import re
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response

from local.config import ROOT
from tests.integration.stack import TIMINGS, LocalStack

pytestmark = pytest.mark.integration

OPENAPI = ROOT / "openapi.json"
EXAMPLES_PER_OPERATION_AND_MODE = 60
MIN_REQUESTS = 1000
# Node's HTTP parser (under serverless-offline) refuses a request, before any function runs, when
# the request line and headers exceed 16 KiB (431, `{"detail"}` through plugins/local-gateway.js); API Gateway has its own, lower limits. A valid
# nextToken may be 4096 characters, 12 bytes each once percent-encoded, so this happens.
NODE_MAX_HEADER_BYTES = 16 * 1024
TEXT_FIELDS = ("title", "description", "location", "organizer")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class Known:
    """What exists on the stack, for steering. `events` keep their shape all run long (only
    registrations touch them); `disposable` events are the ones updated and deleted."""

    events: list[str] = field(default_factory=list)
    disposable: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    registrations: list[tuple[str, str]] = field(default_factory=list)
    # Uniform picks: Hypothesis' own draws lean to the first element, which for ids means the same
    # user registering again and again (409). Failures are replayed from their curl, not a seed.
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class Tally:
    requests: int = 0
    server_errors: int = 0
    refused_by_http_server: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def request_bytes(response: Response) -> int:
    request = response.request
    size = len(f"{request.method} {request.path_url} HTTP/1.1\r\n".encode())
    for name, value in request.headers.items():
        size += len(name) + 4 + len(value if isinstance(value, bytes) else value.encode())
    return size


def error_body_problem(response: Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return "body is not JSON"
    if not isinstance(body, dict) or set(body) != {"detail"}:
        return "body is not exactly {'detail': ...}"
    if not isinstance(body["detail"], str) or not body["detail"].strip():
        return "detail is not a non-empty string"
    return None


def seed(stack: LocalStack) -> Known:
    known = Known()
    for n in range(6):
        user_id = f"fuzz-user-{n}-{uuid.uuid4().hex[:6]}"
        assert stack.post("/users", json={"userId": user_id, "name": f"Fuzz {n}"}).status_code == 201
        known.users.append(user_id)
    shapes: list[tuple[list[str], dict[str, Any]]] = [
        (known.events, {"capacity": 2, "waitlistEnabled": True}),
        (known.events, {"capacity": 1}),
        (known.events, {}),
        (known.events, {"capacity": 3, "status": "draft"}),
        (known.disposable, {"capacity": 5}),
        (known.disposable, {}),
        (known.disposable, {"status": "scheduled", "waitlistEnabled": True}),
    ]
    for pool, shape in shapes:
        event_id = f"fuzz-evt-{uuid.uuid4().hex[:8]}"
        body = {"eventId": event_id, "title": "Fuzz", "date": "2031-05-04", "location": "L", "organizer": "O", **shape}
        assert stack.post("/events", json=body).status_code == 201
        pool.append(event_id)
    for user_id in known.users[:4]:
        assert stack.post(f"/events/{known.events[0]}/registrations", json={"userId": user_id}).status_code == 201
        known.registrations.append((known.events[0], user_id))
    return known


def steer(case: schemathesis.Case, known: Known) -> None:
    """Points a valid case at things that exist (see the module docstring)."""
    label = case.operation.label
    path = case.path_parameters or {}
    pick = known.rng.choice
    if label == "DELETE /events/{eventId}/registrations/{userId}":
        path["eventId"], path["userId"] = pick(known.registrations)
    elif "eventId" in path:
        if label in ("PUT /events/{eventId}", "DELETE /events/{eventId}"):
            pool = known.disposable
        elif label == "POST /events/{eventId}/registrations":
            pool = known.events
        else:
            pool = known.events + known.disposable
        path["eventId"] = pick(pool)
    if "userId" in path and label != "DELETE /events/{eventId}/registrations/{userId}":
        path["userId"] = pick(known.users)
    if not isinstance(case.body, dict):
        return
    if label == "POST /events/{eventId}/registrations" and "userId" in case.body:
        case.body["userId"] = pick(known.users)
    if label in ("POST /events", "PUT /events/{eventId}"):
        for name in TEXT_FIELDS:
            text = case.body.get(name)
            if isinstance(text, str):
                case.body[name] = _CONTROL.sub("", text).strip() or "x"
        if "date" in case.body or label == "POST /events":
            case.body["date"] = pick(["2031-05-04", "2031-05-04T18:30:00Z"])
    if label == "PUT /events/{eventId}":
        # Only capacity may be null; and an update needs a field.
        for name in [name for name, value in case.body.items() if value is None and name != "capacity"]:
            del case.body[name]
        case.body.setdefault("title", "Updated")


def check(case: schemathesis.Case, response: Response, mode: GenerationMode, stack: LocalStack, tally: Tally) -> None:
    tally.requests += 1
    tally.statuses[f"{case.operation.label} {response.status_code}"] += 1
    if response.status_code == 431 and request_bytes(response) > NODE_MAX_HEADER_BYTES:
        # Still checked below: the local gateway answers these in the API's error shape too.
        tally.refused_by_http_server += 1
    problem = None
    if response.status_code >= 500:
        tally.server_errors += 1
        problem = "server error"
    if response.status_code >= 400:
        problem = problem or error_body_problem(response)
    if problem:
        curl = case.as_curl_command(base_url=stack.base_url)
        answer = f"{response.status_code} {response.text_lossy()[:300]!r}"
        tally.failures.append(f"{case.operation.label} ({mode.value}): {problem}: {answer}\n    {curl[:2000]}")


def remember(case: schemathesis.Case, response: Response, known: Known) -> None:
    if response.status_code != 201:
        return
    body = response.json()
    label = case.operation.label
    if label == "POST /events":
        known.disposable.append(body["eventId"])
    elif label == "POST /users":
        known.users.append(body["userId"])
    elif label == "POST /events/{eventId}/registrations":
        known.registrations.append((body["eventId"], body["userId"]))


def fuzz_operation(
    operation: Any, mode: GenerationMode, stack: LocalStack, session: requests.Session, known: Known, tally: Tally
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        if mode is GenerationMode.POSITIVE and data.draw(st.booleans(), label="steer"):
            steer(case, known)
        response = case.call(base_url=stack.base_url, session=session, timeout=20)
        check(case, response, mode, stack, tally)
        remember(case, response, known)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # No invalid request exists for an operation without inputs (GET /health).
        assert mode is GenerationMode.NEGATIVE and not operation.path_parameters and not operation.query


def test_generated_requests_never_get_a_5xx_or_a_malformed_error(local_stack: LocalStack) -> None:
    schema = schemathesis.openapi.from_path(OPENAPI)
    known = seed(local_stack)
    tally = Tally()
    started = time.monotonic()

    with requests.Session() as session:
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz_operation(operation, mode, local_stack, session, known, tally)

    elapsed = time.monotonic() - started
    TIMINGS["schemathesis: requests"] = tally.requests
    TIMINGS["schemathesis: run (s)"] = elapsed
    TIMINGS["schemathesis: 5xx"] = tally.server_errors
    TIMINGS["schemathesis: refused by the HTTP server (request over 16 KiB)"] = tally.refused_by_http_server
    summary = json.dumps(dict(sorted(tally.statuses.items())), indent=1)
    assert not tally.failures, f"{len(tally.failures)} failing responses:\n" + "\n".join(tally.failures[:20])
    assert tally.server_errors == 0
    assert tally.requests >= MIN_REQUESTS, f"only {tally.requests} requests:\n{summary}"
    # The steering reached past validation: things were created, registered, updated and deleted.
    for reached in (
        "POST /events 201",
        "PUT /events/{eventId} 200",
        "DELETE /events/{eventId} 200",
        "POST /users 201",
        "POST /events/{eventId}/registrations 201",
        "DELETE /events/{eventId}/registrations/{userId} 200",
    ):
        assert tally.statuses[reached], f"never reached {reached}:\n{summary}"


@pytest.mark.parametrize("raw", ["false", "0", "-0", "0.0"])
@pytest.mark.parametrize("path", ["/events", "/events/any-event", "/users", "/events/any-event/registrations"])
def test_falsy_json_body_is_a_quick_400(local_stack: LocalStack, path: str, raw: str) -> None:
    """Found by this fuzzing: serverless-offline hands these bodies to the function as values, not
    text, and the body-size check crashed in the error path (a 504 after the 10 s timeout)."""
    method = "PUT" if path == "/events/any-event" else "POST"

    response = local_stack.request(method, path, data=raw, headers={"Content-Type": "application/json"}, timeout=5)

    assert response.status_code == 400, response.text
    assert response.json() == {"detail": "body: must be a JSON object"}


# A shorter `make fuzz`, on the same entry point: every check, every phase, fewer cases.
CLI_EXAMPLES = 25
CLI_SEED = 20261202


def test_schemathesis_cli_with_every_check_finds_nothing() -> None:
    from local import fuzz

    # When schemathesis runs as `make fuzz` runs it (AUTH=on, schemathesis.toml included)
    with fuzz.local_stack() as (base_url, token):
        command = fuzz.schemathesis_command(base_url, CLI_SEED, CLI_EXAMPLES, token)
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280, check=False)

    # Then no check fails, every phase ran, and the links reached every operation with real ids
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in output, output[-3000:]
    assert "Missing test data" not in output, output[-3000:]
    assert "No issues found" in output, output[-3000:]
