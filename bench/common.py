"""What every benchmark shares: the environment a function gets, the requests each function is
measured with, the seed data they need, and small statistics helpers."""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from local import config  # noqa: E402
from local.config import FAKE_AWS  # noqa: E402 - the benchmarks import it from here

MONOLITH = "bench.baselines.monolith"
FLOOR = "bench.baselines.floor"


_PAGE_TOKEN_KEY = secrets.token_urlsafe(48)


def function_environment(**extra: str) -> dict[str, str]:
    """A Lambda's environment: the provider environment of serverless.yml, fake credentials, and a
    page-token key as `make run` draws one (a list with another page signs its token; in AWS the
    key comes from SSM)."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(config.environment())
    env.update(FAKE_AWS)
    env["PAGINATION_SECRET"] = _PAGE_TOKEN_KEY
    env.update(extra)
    return env


def functions() -> dict[str, str]:
    """serverless function name → handler module, for every function in serverless.yml."""
    return {
        name: spec["handler"].rsplit(".", 1)[0].replace("/", ".") for name, spec in config.load()["functions"].items()
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def in_process_dynamodb() -> None:
    """For a simulation on moto in this process (`mock_aws`): the functions' environment with fake
    credentials and no endpoint, and the local stack's atomic TransactWriteItems (no table copies)."""
    os.environ.update(FAKE_AWS)
    os.environ.update(config.environment())
    os.environ["DYNAMODB_ENDPOINT"] = ""
    from local.dynamodb import install_fast_transactions

    install_fast_transactions()


def write_json(path: str | Path, data: Any) -> None:
    Path(path).write_text(json.dumps(data, indent=1, default=str))


# --- Requests ------------------------------------------------------------------------------------
# One representative request per function: (method, path, body). `{i}` is replaced by a run number
# so that writes never collide; `seed(...)` creates what each request needs first.

OPEN_EVENT = "bench-open"  # unlimited seats, waitlist on: registrations confirm
LIST_EVENT = "bench-list"  # 20 seats taken, 10 waiting: the event lists
LIST_USER = "bench-user"  # confirmed in 10 events, waiting in 5: the user lists
UPDATE_EVENT = "bench-update"

HTTP_REQUESTS: dict[str, tuple[str, str, Any]] = {
    "health": ("GET", "/health", None),
    "openapi": ("GET", "/openapi.json", None),
    "docs": ("GET", "/docs", None),
    "createEvent": (
        "POST",
        "/events",
        {
            "eventId": "cold-event-{i}",
            "title": "Cold start",
            "date": "2026-12-01",
            "location": "Hall A",
            "organizer": "Ada",
            "capacity": 100,
            "waitlistEnabled": True,
        },
    ),
    "listEvents": ("GET", "/events?status=active&limit=10", None),
    "getEvent": ("GET", f"/events/{OPEN_EVENT}", None),
    "updateEvent": ("PUT", f"/events/{UPDATE_EVENT}", {"title": "Renamed {i}"}),
    "deleteEvent": ("DELETE", "/events/cold-delete-{i}", None),
    "createUser": ("POST", "/users", {"userId": "cold-user-{i}", "name": "Cold User"}),
    "getUser": ("GET", f"/users/{LIST_USER}", None),
    "listUserRegistrations": ("GET", f"/users/{LIST_USER}/registrations", None),
    "listUserWaitlist": ("GET", f"/users/{LIST_USER}/waitlist", None),
    "register": ("POST", f"/events/{OPEN_EVENT}/registrations", {"userId": "cold-register-{i}"}),
    "unregister": ("DELETE", f"/events/{OPEN_EVENT}/registrations/cold-unregister-" + "{i}", None),
    "listEventRegistrations": ("GET", f"/events/{LIST_EVENT}/registrations", None),
    "listEventWaitlist": ("GET", f"/events/{LIST_EVENT}/waitlist", None),
    "fallback": ("GET", "/no-such-route", None),
    # The monolith's first request: the same registration, its own users.
    "monolith": ("POST", f"/events/{OPEN_EVENT}/registrations", {"userId": "cold-monolith-{i}"}),
}


def fill(template: Any, run: int) -> Any:
    if isinstance(template, str):
        return template.replace("{i}", str(run))
    if isinstance(template, dict):
        return {key: fill(value, run) for key, value in template.items()}
    return template


def event_for(name: str, run: int) -> dict[str, Any]:
    """The Lambda event a function is measured with (API Gateway, stream or schedule)."""
    from tests.builders import ApiClient, api_event

    if name == "promotion":
        # A confirmed registration of the full list event was removed: promotion looks for a seat.
        image = {
            "eventId": {"S": LIST_EVENT},
            "userId": {"S": f"gone-{run}"},
            "status": {"S": "confirmed"},
            "registeredAt": {"S": "2026-01-01T00:00:00+00:00"},
        }
        return _stream_record("REMOVE", run, {"eventId": image["eventId"], "userId": image["userId"]}, old=image)
    if name == "eventChanges":
        # The full list event's capacity went up while people wait (as the record says; the store
        # still holds 20 seats, all taken): eventChanges reads the seats and promotes nobody.
        before = {"eventId": {"S": LIST_EVENT}, "capacity": {"N": "10"}, "waitlistCount": {"N": "10"}}
        after = {**before, "capacity": {"N": "20"}}
        return _stream_record("MODIFY", run, {"eventId": before["eventId"]}, old=before, new=after)
    if name == "reconcile":
        return {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    method, path, body = HTTP_REQUESTS[name]
    path, body = fill(path, run), fill(body, run)
    _module, params, resource = ApiClient().handler_for(method, path.split("?")[0])
    return api_event(method, path, body, path_parameters=params or None, resource=resource)


def _stream_record(
    kind: str, run: int, keys: dict[str, Any], old: dict[str, Any], new: dict[str, Any] | None = None
) -> dict[str, Any]:
    images = {"OldImage": old, **({"NewImage": new} if new is not None else {})}
    return {
        "Records": [
            {
                "eventID": f"record-{run}",
                "eventName": kind,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/x/stream/2026",
                "dynamodb": {
                    "Keys": keys,
                    **images,
                    "SequenceNumber": str(1000 + run),
                    "SizeBytes": 100,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        ]
    }


def prepare(name: str, run: int, api: Any) -> None:
    """What request `run` of `name` needs in the store (through our own handlers, in-process)."""
    if name in {"register", "monolith"}:
        api.post("/users", {"userId": f"cold-{name}-{run}", "name": "Cold"})
    elif name == "unregister":
        api.post("/users", {"userId": f"cold-unregister-{run}", "name": "Cold"})
        api.post(f"/events/{OPEN_EVENT}/registrations", {"userId": f"cold-unregister-{run}"})
    elif name == "deleteEvent":
        api.post("/events", _event_body(f"cold-delete-{run}", capacity=5))


def _event_body(event_id: str, capacity: int | None = None, waitlist: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventId": event_id,
        "title": "Bench",
        "date": "2026-12-01",
        "location": "Hall A",
        "organizer": "Ada",
        "waitlistEnabled": waitlist,
    }
    if capacity is not None:
        body["capacity"] = capacity
    return body


def seed(api: Any, suffix: str = "") -> None:
    """The shared data: an open event, a full event with 20 confirmed and 10 waiting, a user who is
    confirmed in 10 events and waits in 5. `suffix` makes an independent copy."""
    ok = (200, 201, 409)

    def post(path: str, body: Any) -> None:
        response = api.post(path, body)
        assert response.status in ok, (path, response.status, response.body)

    post("/events", _event_body(OPEN_EVENT + suffix))
    post("/events", _event_body(UPDATE_EVENT + suffix, capacity=10))
    post("/events", _event_body(LIST_EVENT + suffix, capacity=20))
    post("/users", {"userId": LIST_USER + suffix, "name": "Bench User"})
    for n in range(30):
        post("/users", {"userId": f"bench-member-{n}{suffix}", "name": f"Member {n}"})
        post(f"/events/{LIST_EVENT}{suffix}/registrations", {"userId": f"bench-member-{n}{suffix}"})
    for n in range(15):
        event = f"bench-user-event-{n}{suffix}"
        post("/events", _event_body(event, capacity=1 if n >= 10 else None))
        if n >= 10:  # one seat, taken by someone else: the bench user waits
            post(f"/events/{event}/registrations", {"userId": f"bench-member-0{suffix}"})
        post(f"/events/{event}/registrations", {"userId": LIST_USER + suffix})
