"""The incumbent: the same API as ONE FastAPI application behind Mangum, the architecture of the
"existing Events API" — one Lambda for every route, written the straightforward way.

Fair, not a strawman: pydantic request models, FastAPI's own error handling (HTTPException, and
validation errors answered 400 `{"detail"}` like ours), one boto3 resource per process created at
import (as most FastAPI apps do), `BatchGetItem` for names instead of a loop, the same tables and
item shapes (names from local.config / the provider environment). What it does differently is
what a monolith usually does: read, check in Python, then write (no transactions, so it can
overbook under concurrency), and promote the head of the waitlist synchronously in DELETE.

    handler = bench.baselines.monolith.handler     # the Lambda entry point (Mangum)
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import boto3
from boto3.dynamodb.conditions import Key
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum
from pydantic import BaseModel, ConfigDict, Field

EVENTS = os.environ.get("EVENTS_TABLE", "event-registrations-dev-events")
USERS = os.environ.get("USERS_TABLE", "event-registrations-dev-users")
REGISTRATIONS = os.environ.get("REGISTRATIONS_TABLE", "event-registrations-dev-registrations")
WAITLIST = os.environ.get("WAITLIST_TABLE", "event-registrations-dev-waitlist")

dynamodb = boto3.resource(
    "dynamodb",
    region_name=os.environ.get("AWS_REGION", "us-east-1"),
    endpoint_url=os.environ.get("DYNAMODB_ENDPOINT") or None,
)
events_table = dynamodb.Table(EVENTS)
users_table = dynamodb.Table(USERS)
registrations_table = dynamodb.Table(REGISTRATIONS)
waitlist_table = dynamodb.Table(WAITLIST)

app = FastAPI(title="Events API (monolith)")


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    eventId: str | None = Field(default=None, min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    date: str
    location: str = Field(min_length=1, max_length=200)
    organizer: str = Field(min_length=1, max_length=200)
    status: Literal["draft", "scheduled", "active", "cancelled", "completed"] = "active"
    capacity: int | None = Field(default=None, ge=1)
    waitlistEnabled: bool = False


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    userId: str | None = Field(default=None, min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    userId: str = Field(min_length=1, max_length=64)


@app.exception_handler(RequestValidationError)
async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(part) for part in first.get("loc", ()))
    return JSONResponse(status_code=400, content={"detail": f"{field}: {first.get('msg', 'invalid')}"})


def now() -> str:
    return datetime.now(UTC).isoformat()


def plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: int(value) if isinstance(value, Decimal) else value for key, value in item.items()}


def event_out(item: dict[str, Any]) -> dict[str, Any]:
    data = plain(item)
    data.pop("waitlistSeq", None)
    data.setdefault("registeredCount", 0)
    data.setdefault("waitlistCount", 0)
    return data


def get_event_item(event_id: str) -> dict[str, Any]:
    item = events_table.get_item(Key={"eventId": event_id}).get("Item")
    if item is None or item.get("deleting"):
        raise HTTPException(404, f"Event {event_id} not found")
    return item


def get_user_item(user_id: str) -> dict[str, Any]:
    item = users_table.get_item(Key={"userId": user_id}).get("Item")
    if item is None:
        raise HTTPException(404, f"User {user_id} not found")
    return item


def batch_get(table: str, key: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        request = {table: {"Keys": [{key: value} for value in dict.fromkeys(ids[start : start + 100])]}}
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table, []):
                found[item[key]] = item
            request = response.get("UnprocessedKeys") or {}
    return found


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "healthy"}


@app.post("/events", status_code=201)
def create_event(body: EventIn) -> dict[str, Any]:
    event_id = body.eventId or str(uuid.uuid4())
    if "Item" in events_table.get_item(Key={"eventId": event_id}):
        raise HTTPException(409, f"Event {event_id} already exists")
    stamp = now()
    item = {
        **body.model_dump(exclude_none=True),
        "eventId": event_id,
        "createdAt": stamp,
        "updatedAt": stamp,
        "registeredCount": 0,
        "waitlistCount": 0,
        "waitlistSeq": 0,
    }
    events_table.put_item(Item=item)
    return event_out(item) | {"capacity": body.capacity}


@app.get("/events")
def list_events(status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    if status:
        response = events_table.query(
            IndexName="StatusIndex", KeyConditionExpression=Key("status").eq(status), Limit=limit
        )
    else:
        response = events_table.scan(Limit=limit)
    return [event_out(item) for item in response["Items"] if not item.get("deleting")]


@app.get("/events/{event_id}")
def get_event(event_id: str) -> dict[str, Any]:
    return event_out(get_event_item(event_id))


@app.post("/users", status_code=201)
def create_user(body: UserIn) -> dict[str, Any]:
    user_id = body.userId or str(uuid.uuid4())
    if "Item" in users_table.get_item(Key={"userId": user_id}):
        raise HTTPException(409, f"User {user_id} already exists")
    item = {"userId": user_id, "name": body.name.strip(), "createdAt": now()}
    users_table.put_item(Item=item)
    return item


@app.get("/users/{user_id}")
def get_user(user_id: str) -> dict[str, Any]:
    return plain(get_user_item(user_id))


@app.post("/events/{event_id}/registrations", status_code=201)
def register(event_id: str, body: RegistrationIn) -> dict[str, Any]:
    event = get_event_item(event_id)
    get_user_item(body.userId)
    if event["status"] not in ("scheduled", "active"):
        raise HTTPException(409, f"Event {event_id} is not open for registration")
    existing = registrations_table.get_item(Key={"eventId": event_id, "userId": body.userId}).get("Item")
    if existing:
        raise HTTPException(409, f"User {body.userId} is already registered for event {event_id}")
    capacity = event.get("capacity")
    registered = int(event.get("registeredCount", 0))
    waiting = int(event.get("waitlistCount", 0))
    stamp = now()
    if waiting == 0 and (capacity is None or registered < capacity):
        registrations_table.put_item(
            Item={"eventId": event_id, "userId": body.userId, "status": "confirmed", "registeredAt": stamp}
        )
        events_table.update_item(
            Key={"eventId": event_id},
            UpdateExpression="SET registeredCount = registeredCount + :one",
            ExpressionAttributeValues={":one": 1},
        )
        return {"userId": body.userId, "eventId": event_id, "status": "confirmed", "registeredAt": stamp}
    if not event.get("waitlistEnabled"):
        raise HTTPException(409, "Event is full")
    ticket = int(event.get("waitlistSeq", 0)) + 1
    waitlist_table.put_item(Item={"eventId": event_id, "position": ticket, "userId": body.userId, "addedAt": stamp})
    registrations_table.put_item(
        Item={"eventId": event_id, "userId": body.userId, "status": "waitlisted", "ticket": ticket, "addedAt": stamp}
    )
    events_table.update_item(
        Key={"eventId": event_id},
        UpdateExpression="SET waitlistCount = waitlistCount + :one, waitlistSeq = :ticket",
        ExpressionAttributeValues={":one": 1, ":ticket": ticket},
    )
    return {
        "userId": body.userId,
        "eventId": event_id,
        "status": "waitlisted",
        "position": waiting + 1,
        "addedAt": stamp,
    }


@app.delete("/events/{event_id}/registrations/{user_id}")
def unregister(event_id: str, user_id: str) -> dict[str, str]:
    registration = registrations_table.get_item(Key={"eventId": event_id, "userId": user_id}).get("Item")
    if registration is None:
        raise HTTPException(404, f"User {user_id} is not registered for event {event_id}")
    registrations_table.delete_item(Key={"eventId": event_id, "userId": user_id})
    if registration["status"] == "waitlisted":
        waitlist_table.delete_item(Key={"eventId": event_id, "position": registration["ticket"]})
        events_table.update_item(
            Key={"eventId": event_id},
            UpdateExpression="SET waitlistCount = waitlistCount - :one",
            ExpressionAttributeValues={":one": 1},
        )
        return {"message": f"User {user_id} left the waitlist of event {event_id}"}
    events_table.update_item(
        Key={"eventId": event_id},
        UpdateExpression="SET registeredCount = registeredCount - :one",
        ExpressionAttributeValues={":one": 1},
    )
    promote_head(event_id)
    return {"message": f"User {user_id} unregistered from event {event_id}"}


def promote_head(event_id: str) -> None:
    """The freed seat goes to the head of the waitlist, in the same request."""
    head = waitlist_table.query(KeyConditionExpression=Key("eventId").eq(event_id), Limit=1)["Items"]
    if not head:
        return
    entry = head[0]
    waitlist_table.delete_item(Key={"eventId": event_id, "position": entry["position"]})
    registrations_table.update_item(
        Key={"eventId": event_id, "userId": entry["userId"]},
        UpdateExpression="SET #status = :confirmed, registeredAt = :now REMOVE ticket, addedAt",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":confirmed": "confirmed", ":now": now()},
    )
    events_table.update_item(
        Key={"eventId": event_id},
        UpdateExpression="SET registeredCount = registeredCount + :one, waitlistCount = waitlistCount - :one",
        ExpressionAttributeValues={":one": 1},
    )


@app.get("/events/{event_id}/registrations")
def event_registrations(event_id: str, limit: int = 100) -> list[dict[str, Any]]:
    get_event_item(event_id)
    items = registrations_table.query(
        IndexName="EventRegistrationsIndex", KeyConditionExpression=Key("eventId").eq(event_id), Limit=limit
    )["Items"]
    users = batch_get(USERS, "userId", [item["userId"] for item in items])
    return [
        {
            "userId": item["userId"],
            "name": users.get(item["userId"], {}).get("name"),
            "registeredAt": item["registeredAt"],
        }
        for item in items
    ]


@app.get("/events/{event_id}/waitlist")
def event_waitlist(event_id: str, limit: int = 100) -> list[dict[str, Any]]:
    get_event_item(event_id)
    items = waitlist_table.query(KeyConditionExpression=Key("eventId").eq(event_id), Limit=limit)["Items"]
    users = batch_get(USERS, "userId", [item["userId"] for item in items])
    return [
        {
            "userId": item["userId"],
            "name": users.get(item["userId"], {}).get("name"),
            "position": index,
            "addedAt": item["addedAt"],
        }
        for index, item in enumerate(items, start=1)
    ]


@app.get("/users/{user_id}/registrations")
def user_registrations(user_id: str, limit: int = 100) -> list[dict[str, Any]]:
    get_user_item(user_id)
    items = registrations_table.query(
        IndexName="UserRegistrationsIndex", KeyConditionExpression=Key("userId").eq(user_id), Limit=limit
    )["Items"]
    events = batch_get(EVENTS, "eventId", [item["eventId"] for item in items])
    return [
        event_out(events[item["eventId"]]) | {"registeredAt": item["registeredAt"]}
        for item in items
        if item["eventId"] in events
    ]


@app.get("/users/{user_id}/waitlist")
def user_waitlist(user_id: str, limit: int = 100) -> list[dict[str, Any]]:
    get_user_item(user_id)
    items = waitlist_table.query(
        IndexName="UserWaitlistIndex", KeyConditionExpression=Key("userId").eq(user_id), Limit=limit
    )["Items"]
    events = batch_get(EVENTS, "eventId", [item["eventId"] for item in items])
    answer = []
    for item in items:
        if item["eventId"] not in events:
            continue
        ahead = waitlist_table.query(
            KeyConditionExpression=Key("eventId").eq(item["eventId"]) & Key("position").lt(item["position"]),
            Select="COUNT",
        )["Count"]
        answer.append(event_out(events[item["eventId"]]) | {"position": ahead + 1, "addedAt": item["addedAt"]})
    return answer


handler = Mangum(app, lifespan="off")
