"""Demo data for a running stack (`make seed`), through the public API: an event that is full with
a waitlist, one without a limit, a draft, and the users registered to them. Run it twice and the
second run changes nothing: what exists already (a 409 "already …") is left as it is.

    PORT=3000 python -m local.seed
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

USERS = {
    "demo-ada": "Ada Lovelace",
    "demo-grace": "Grace Hopper",
    "demo-alan": "Alan Turing",
    "demo-katherine": "Katherine Johnson",
    "demo-linus": "Linus Torvalds",
    "demo-barbara": "Barbara Liskov",
}
EVENTS: list[dict[str, Any]] = [
    # Full: three seats taken, two people waiting (positions 1 and 2).
    {
        "eventId": "demo-workshop",
        "title": "Serverless workshop",
        "description": "Hands-on: one Lambda per route, DynamoDB streams, and a waitlist.",
        "date": "2027-03-18",
        "location": "Room 101",
        "organizer": "Ada Lovelace",
        "capacity": 3,
        "waitlistEnabled": True,
    },
    # No capacity: everyone gets in.
    {
        "eventId": "demo-meetup",
        "title": "Community meetup",
        "date": "2027-04-02",
        "location": "Main hall",
        "organizer": "Grace Hopper",
    },
    # Not open yet: registrations answer 409 until its status changes.
    {
        "eventId": "demo-conference",
        "title": "Spring conference",
        "date": "2027-05-20T09:00:00Z",
        "location": "Convention centre",
        "organizer": "Alan Turing",
        "capacity": 200,
        "waitlistEnabled": True,
        "status": "draft",
    },
]
REGISTRATIONS = [
    ("demo-workshop", "demo-ada"),
    ("demo-workshop", "demo-grace"),
    ("demo-workshop", "demo-alan"),
    ("demo-workshop", "demo-katherine"),
    ("demo-workshop", "demo-linus"),
    ("demo-meetup", "demo-ada"),
    ("demo-meetup", "demo-barbara"),
]


class SeedError(RuntimeError):
    pass


def post(base_url: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - a URL we build from PORT
        base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise SeedError(f"no API at {base_url} ({exc}): start it with `make run` (same PORT) first") from exc


def create(base_url: str, path: str, body: dict[str, Any], what: str) -> bool:
    """True when created, False when it was there already; anything else stops the seeding."""
    status, answer = post(base_url, path, body)
    if status == 201:
        outcome = ""
        if "registeredAt" in answer:
            outcome = " (confirmed)"
        elif "position" in answer:
            outcome = f" (waitlisted, position {answer['position']})"
        print(f"  created {what}{outcome}")
        return True
    if status == 409 and "already" in answer.get("detail", ""):
        print(f"  exists  {what}")
        return False
    raise SeedError(f"{what}: {status} {answer}")


def seed(base_url: str) -> int:
    created = 0
    for user_id, name in USERS.items():
        created += create(base_url, "/users", {"userId": user_id, "name": name}, f"user {user_id}")
    for event in EVENTS:
        created += create(base_url, "/events", event, f"event {event['eventId']}")
    for event_id, user_id in REGISTRATIONS:
        path = f"/events/{event_id}/registrations"
        created += create(base_url, path, {"userId": user_id}, f"registration of {user_id} for {event_id}")
    return created


def main() -> int:
    base_url = f"http://127.0.0.1:{os.environ.get('PORT') or 3000}"
    print(f"Seeding {base_url} with demo data (ids start with demo-)")
    try:
        created = seed(base_url)
    except SeedError as exc:
        print(f"[local.seed] error: {exc}", file=sys.stderr)
        return 1
    total = len(USERS) + len(EVENTS) + len(REGISTRATIONS)
    print(f"Done: {created} created, {total - created} already there.")
    print(f"Try: curl {base_url}/events/demo-workshop/waitlist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
