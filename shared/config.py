"""Environment settings, read once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    events_table: str
    users_table: str
    registrations_table: str
    waitlist_table: str
    dynamodb_endpoint: str | None
    region: str
    pagination_secret: bytes
    max_body_bytes: int
    transaction_attempts: int
    event_bus_name: str | None
    eventbridge_endpoint: str | None
    auth_enabled: bool


@cache
def get_settings() -> Settings:
    env = os.environ
    return Settings(
        events_table=env.get("EVENTS_TABLE", "event-registrations-dev-events"),
        users_table=env.get("USERS_TABLE", "event-registrations-dev-users"),
        registrations_table=env.get("REGISTRATIONS_TABLE", "event-registrations-dev-registrations"),
        waitlist_table=env.get("WAITLIST_TABLE", "event-registrations-dev-waitlist"),
        # An empty value (the deployed default) means "the real DynamoDB of the region".
        dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        pagination_secret=env.get("PAGINATION_SECRET", "local-development-only").encode(),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", "65536")),
        transaction_attempts=int(env.get("TRANSACTION_ATTEMPTS", "40")),
        # Where RegistrationPromoted goes; empty: not published.
        event_bus_name=env.get("EVENT_BUS_NAME") or None,
        # The local stack's moto serves EventBridge on the same endpoint as DynamoDB.
        eventbridge_endpoint=env.get("EVENTBRIDGE_ENDPOINT") or env.get("DYNAMODB_ENDPOINT") or None,
        # serverless.yml sets it per stage (`--param="auth=off"` opens a stage); unset means on.
        auth_enabled=env.get("AUTH", "on") != "off",
    )
