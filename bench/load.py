"""The local stack (`python -m local.run`, i.e. `make run`) under a storm, from cold: registrations
for one event (capacity 100, waitlist on), every client at once, the final state checked; then
unregistrations of confirmed users, all at once, and the time from each DELETE's answer until the
head it freed a seat for is listed as confirmed (the stream-driven promotion).

Nothing is warmed first: the local gateway queues each function's invocations (plugins/
local-gateway.js, LOCAL_CONCURRENCY), so a storm waits for warm processes instead of starting one
cold process per request and timing out.

    .venv/bin/python -m bench.load --registrations 500 --clients 500 --capacity 100 \
        --unregistrations 100 --json out.json
"""

from __future__ import annotations

import argparse
import concurrent.futures
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import requests

from bench.common import FAKE_AWS, median, percentile, write_json
from local import config


def timed(session: requests.Session, method: str, url: str, **kwargs: Any) -> tuple[float, int, Any]:
    started = time.perf_counter()
    try:
        response = session.request(method, url, timeout=120, **kwargs)
        status = response.status_code
        body = response.json() if response.content else None
    except requests.RequestException as exc:
        status, body = 0, str(exc)
    return (time.perf_counter() - started) * 1000, status, body


def fan_out(clients: int, jobs: list[tuple[str, str, Any]], base: str) -> list[tuple[float, int, Any, float]]:
    local = threading.local()

    def one(job: tuple[str, str, Any]) -> tuple[float, int, Any, float]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        method, path, body = job
        ms, status, answer = timed(local.session, method, base + path, json=body)
        return ms, status, answer, time.monotonic()

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, jobs))


def all_pages(session: requests.Session, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        params: dict[str, str | int] = {"limit": 100, **({"nextToken": token} if token else {})}
        response = session.get(url, params=params, timeout=30)
        response.raise_for_status()
        items += response.json()
        token = response.headers.get("X-Next-Token")
        if not token:
            return items


def run(registrations: int, clients: int, capacity: int, unregistrations: int) -> dict[str, Any]:
    import os

    from tests.integration.stack import start_stack

    os.environ.update(FAKE_AWS)

    log = Path(tempfile.mkdtemp(prefix="bench-load-")) / "local-run.log"
    stack = start_stack(log)
    try:
        base = stack.base_url
        session = requests.Session()
        event_id = f"load-{int(time.time())}"
        created = session.post(
            base + "/events",
            json={
                "eventId": event_id,
                "title": "Load",
                "date": "2026-12-01",
                "location": "Hall A",
                "organizer": "Ada",
                "capacity": capacity,
                "waitlistEnabled": True,
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        # Users straight into the embedded DynamoDB: only registrations are measured.
        endpoint = f"http://127.0.0.1:{_dynamodb_port(stack)}"
        table = boto3.resource("dynamodb", endpoint_url=endpoint, region_name="us-east-1").Table(
            config.load()["custom"]["tables"]["users"]
        )
        users = [f"{event_id}-u{n:04d}" for n in range(registrations)]
        with table.batch_writer() as batch:
            for user in users:
                batch.put_item(Item={"userId": user, "name": "Load", "createdAt": "2026-01-01T00:00:00+00:00"})
        jobs = [("POST", f"/events/{event_id}/registrations", {"userId": user}) for user in users]
        started = time.monotonic()
        results = fan_out(clients, jobs, base)
        elapsed = time.monotonic() - started
        latencies = [ms for ms, *_ in results]
        statuses: dict[int, int] = {}
        for _, status, *_ in results:
            statuses[status] = statuses.get(status, 0) + 1
        errors = sum(count for status, count in statuses.items() if status != 201)

        confirmed = all_pages(session, f"{base}/events/{event_id}/registrations")
        waiting = all_pages(session, f"{base}/events/{event_id}/waitlist")
        event = session.get(f"{base}/events/{event_id}", timeout=30).json()
        state_ok = (
            len(confirmed) == min(capacity, registrations)
            and [entry["position"] for entry in waiting] == list(range(1, registrations - capacity + 1))
            and event["registeredCount"] == len(confirmed)
            and event["waitlistCount"] == len(waiting)
        )

        # Unregister the first confirmed users; the heads of the waitlist must be promoted.
        leaving = [entry["userId"] for entry in confirmed[:unregistrations]]
        expected = [entry["userId"] for entry in waiting[:unregistrations]]
        leaves = [("DELETE", f"/events/{event_id}/registrations/{user}", None) for user in leaving]
        unreg = fan_out(min(clients, len(leaving)), leaves, base)
        freed_at = sorted(done for *_, done in unreg)
        unreg_errors = sum(1 for _, status, *_ in unreg if status != 200)
        seen: dict[str, float] = {}
        deadline = time.monotonic() + 120
        while len(seen) < len(expected) and time.monotonic() < deadline:
            now = time.monotonic()
            for entry in all_pages(session, f"{base}/events/{event_id}/registrations"):
                if entry["userId"] in expected and entry["userId"] not in seen:
                    seen[entry["userId"]] = now
            time.sleep(0.1)
        # The n-th freed seat goes to the n-th in line (FIFO): its delay runs from that DELETE's answer.
        delays = [(seen[user] - freed) * 1000 for user, freed in zip(expected, freed_at, strict=True) if user in seen]
        final_waiting = all_pages(session, f"{base}/events/{event_id}/waitlist")
        promotions_ok = len(seen) == len(expected) and [e["position"] for e in final_waiting] == list(
            range(1, registrations - capacity - len(expected) + 1)
        )
        return {
            "registrations": registrations,
            "clients": clients,
            "capacity": capacity,
            "seconds": elapsed,
            "rps": registrations / elapsed,
            "p50_ms": median(latencies),
            "p99_ms": percentile(latencies, 0.99),
            "statuses": statuses,
            "errors": errors,
            "confirmed": len(confirmed),
            "waiting": len(waiting),
            "state_ok": state_ok,
            "unregistrations": len(leaving),
            "unregister_errors": unreg_errors,
            "promoted": len(seen),
            "promotion_p50_ms": median(delays),
            "promotion_max_ms": max(delays) if delays else float("nan"),
            "promotions_ok": promotions_ok,
        }
    finally:
        stack.stop()
        stack.kill_leftovers()


def _dynamodb_port(stack: Any) -> int:
    import re

    for _ in range(50):
        match = re.search(r"embedded \(moto\) on http://127\.0\.0\.1:(\d+)", stack.log_path.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        time.sleep(0.1)
    raise RuntimeError("embedded DynamoDB port not found in the local stack's log")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, default=500)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--unregistrations", type=int, default=100)
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    write_json(args.json, run(args.registrations, args.clients, args.capacity, args.unregistrations))


if __name__ == "__main__":
    main()
