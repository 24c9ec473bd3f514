"""Warm latency in-process, per route: each handler called with an API Gateway event on moto
(mock_aws, tables from serverless.yml), ours beside the monolith (Mangum) for the same operation on
the same data, calls interleaved so that load drift hits both alike. Also the DynamoDB round trips
of each call, counted through botocore's `before-call.dynamodb.*` events; the time in the boto3
client (each call from entering it until it returns), and of it the DynamoDB call itself
(`before-call` to `after-call`: signing, moto's work, parsing). The rest of a request's time is
each side's own code.

Our time in the client alone over the monolith's whole request is the least ratio a route could
reach with the calls it makes (the data model's minimum, docs/data-model.md) if its own code took
no time at all: where that is above the goal (half the monolith's), no change to our own code
reaches it.

    .venv/bin/python -m bench.warm --calls 1000 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import time
from collections import Counter
from typing import Any

from bench.common import FAKE_AWS, LIST_EVENT, LIST_USER, OPEN_EVENT, median, percentile, seed, write_json

# operation → (method, path template, body template); {n} is the call number, {who} is ours/mono.
OPERATIONS: dict[str, tuple[str, str, Any]] = {
    "register": ("POST", "/events/warm-open-{who}/registrations", {"userId": "warm-{who}-{n}"}),
    "unregister": ("DELETE", "/events/warm-open-{who}/registrations/warm-{who}-{n}", None),
    "createEvent": (
        "POST",
        "/events",
        {
            "eventId": "warm-event-{who}-{n}",
            "title": "Warm",
            "date": "2026-12-01",
            "location": "Hall A",
            "organizer": "Ada",
            "capacity": 10,
            "waitlistEnabled": True,
        },
    ),
    "getEvent": ("GET", f"/events/{OPEN_EVENT}", None),
    "createUser": ("POST", "/users", {"userId": "warm-new-{who}-{n}", "name": "Warm"}),
    "getUser": ("GET", f"/users/{LIST_USER}", None),
    "listEventRegistrations": ("GET", f"/events/{LIST_EVENT}/registrations", None),
    "listEventWaitlist": ("GET", f"/events/{LIST_EVENT}/waitlist", None),
    "listUserRegistrations": ("GET", f"/users/{LIST_USER}/registrations", None),
    "listUserWaitlist": ("GET", f"/users/{LIST_USER}/waitlist", None),
}
# The fewest DynamoDB calls each operation needs, from docs/data-model.md.
MINIMUM = {
    "register": "1",
    "unregister": "1",
    "createEvent": "1",
    "getEvent": "1",
    "createUser": "1",
    "getUser": "1",
    "listEventRegistrations": "2",
    "listEventWaitlist": "2",
    "listUserRegistrations": "2",
    "listUserWaitlist": "3 (2 when each entry heads its queue)",
}
USERS_PER_SIDE = 50  # register/unregister cycle through these, so the tables stay the same size


def fill(template: Any, n: int, who: str) -> Any:
    if isinstance(template, str):
        return template.replace("{n}", str(n)).replace("{who}", who)
    if isinstance(template, dict):
        return {key: fill(value, n, who) for key, value in template.items()}
    return template


class CallCounter:
    """DynamoDB calls of one side (`before-call`), the time spent inside them (until `after-call`:
    signing, moto's work, parsing the response) and the time in the boto3 client as a whole (each
    call from entering the client's `_make_api_call` until it returns: building, validating and
    serialising the request too). The rest of a request's time is the side's own code."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.inside_s = 0.0
        self.client_s = 0.0
        self._started = 0.0

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", self)
        client.meta.events.register("after-call.dynamodb", self.done)
        make_api_call = client._make_api_call

        def timed(operation_name: str, api_params: dict[str, Any]) -> Any:
            entered = time.perf_counter()
            try:
                return make_api_call(operation_name, api_params)
            finally:
                self.client_s += time.perf_counter() - entered

        client._make_api_call = timed

    def __call__(self, event_name: str = "", **_: Any) -> None:
        self.calls.append(event_name.rsplit(".", 1)[-1])
        self._started = time.perf_counter()

    def done(self, **_: Any) -> None:
        self.inside_s += time.perf_counter() - self._started

    def clear(self) -> None:
        self.calls.clear()
        self.inside_s = 0.0
        self.client_s = 0.0


def run(calls: int) -> dict[str, Any]:
    os.environ.update(FAKE_AWS)
    from local import config

    for key, value in config.environment().items():
        os.environ[key] = value
    os.environ["DYNAMODB_ENDPOINT"] = ""
    from moto import mock_aws

    from local.dynamodb import install_fast_transactions

    # moto's stock TransactWriteItems deep-copies whole tables (cost grows with the data); real
    # DynamoDB does not. The same fast, atomic implementation the local stack uses (single thread here).
    install_fast_transactions()
    with mock_aws():
        import boto3

        config.create_tables(boto3.client("dynamodb", region_name="us-east-1"))
        config.create_event_buses(boto3.client("events", region_name="us-east-1"))
        from tests.builders import ApiClient, LambdaContext, api_event

        api = ApiClient()
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink):
            seed(api)
            for who in ("ours", "mono"):
                api.post(
                    "/events",
                    {
                        "eventId": f"warm-open-{who}",
                        "title": "Warm",
                        "date": "2026-12-01",
                        "location": "Hall A",
                        "organizer": "Ada",
                        "waitlistEnabled": True,
                    },
                )
                for n in range(USERS_PER_SIDE):
                    api.post("/users", {"userId": f"warm-{who}-{n}", "name": "Warm"})
        monolith = importlib.import_module("bench.baselines.monolith")
        from shared.repositories.dynamo import get_client

        counters = {"ours": CallCounter(), "mono": CallCounter()}
        for who, client in (("ours", get_client()), ("mono", monolith.dynamodb.meta.client)):
            counters[who].attach(client)
        context = LambdaContext()
        results: dict[str, Any] = {}
        for operation, (method, path_template, body_template) in OPERATIONS.items():
            samples: dict[str, list[float]] = {"ours": [], "mono": []}
            own: dict[str, list[float]] = {"ours": [], "mono": []}
            inside: dict[str, list[float]] = {"ours": [], "mono": []}
            in_client: dict[str, list[float]] = {"ours": [], "mono": []}
            trips: dict[str, Counter[tuple[str, ...]]] = {"ours": Counter(), "mono": Counter()}
            statuses: dict[str, Counter[int]] = {"ours": Counter(), "mono": Counter()}
            cycled = operation in {"register", "unregister"}
            for n in range(calls):
                for who in ("ours", "mono"):
                    number = n % USERS_PER_SIDE if cycled else n
                    path = fill(path_template, number, who)
                    body = fill(body_template, number, who)
                    if operation == "unregister":
                        # Untimed: put the user back first, so every call unregisters someone confirmed.
                        with contextlib.redirect_stdout(sink):
                            api.post(
                                fill("/events/warm-open-{who}/registrations", number, who),
                                {"userId": f"warm-{who}-{number}"},
                            )
                    module_name, params, resource = api.handler_for(method, path.split("?")[0])
                    event = api_event(method, path, body, path_parameters=params or None, resource=resource)
                    counters[who].clear()
                    with contextlib.redirect_stdout(sink):
                        started = time.perf_counter()
                        if who == "ours":
                            response = importlib.import_module(module_name).lambda_handler(event, context)
                        else:
                            response = monolith.handler(event, context)
                        samples[who].append((time.perf_counter() - started) * 1000)
                    inside[who].append(counters[who].inside_s * 1000)
                    in_client[who].append(counters[who].client_s * 1000)
                    own[who].append(samples[who][-1] - in_client[who][-1])
                    statuses[who][response["statusCode"]] += 1
                    trips[who][tuple(counters[who].calls)] += 1
                    if operation == "register":
                        # Untimed: free the seat again so the next cycle registers a new user.
                        with contextlib.redirect_stdout(sink):
                            api.delete(f"/events/warm-open-{who}/registrations/warm-{who}-{number}")
                sink.seek(0)
                sink.truncate()
            results[operation] = {
                who: {
                    "p50_ms": median(samples[who]),
                    "p99_ms": percentile(samples[who], 0.99),
                    "own_p50_ms": median(own[who]),
                    "dynamodb_p50_ms": median(inside[who]),
                    "client_p50_ms": median(in_client[who]),
                    "calls": len(samples[who]),
                    "statuses": dict(statuses[who]),
                    "round_trips": len(trips[who].most_common(1)[0][0]),
                    "operations": list(trips[who].most_common(1)[0][0]),
                }
                for who in ("ours", "mono")
            }
            results[operation]["minimum"] = MINIMUM[operation]
    return {"calls": calls, "operations": results}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    write_json(args.json, run(args.calls))


if __name__ == "__main__":
    main()
