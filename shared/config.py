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
    # Page-token HMAC key: PAGINATION_SECRET where given (the local stack draws one per run), else
    # read at run time from the SSM parameter PAGINATION_SECRET_PARAMETER names (deployed stages).
    pagination_secret: bytes | None
    pagination_secret_parameter: str | None
    max_body_bytes: int
    transaction_attempts: int
    event_bus_name: str | None
    eventbridge_endpoint: str | None
    # serverless.yml's custom.cors, which API Gateway's preflights use too.
    cors_allow_origin: str
    cors_allow_headers: tuple[str, ...]
    cors_max_age: int
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
        pagination_secret=env["PAGINATION_SECRET"].encode() if env.get("PAGINATION_SECRET") else None,
        pagination_secret_parameter=env.get("PAGINATION_SECRET_PARAMETER") or None,
        max_body_bytes=int(env.get("MAX_BODY_BYTES", "65536")),
        transaction_attempts=int(env.get("TRANSACTION_ATTEMPTS", "40")),
        # Where RegistrationPromoted goes; empty: not published.
        event_bus_name=env.get("EVENT_BUS_NAME") or None,
        # The local stack's moto serves EventBridge on the same endpoint as DynamoDB.
        eventbridge_endpoint=env.get("EVENTBRIDGE_ENDPOINT") or env.get("DYNAMODB_ENDPOINT") or None,
        cors_allow_origin=env.get("CORS_ALLOW_ORIGIN") or "*",
        cors_allow_headers=tuple(
            header.strip() for header in env.get("CORS_ALLOW_HEADERS", "Content-Type").split(",") if header.strip()
        ),
        cors_max_age=int(env.get("CORS_MAX_AGE", "600")),
        # serverless.yml sets it per stage (`--param="auth=off"` opens a stage); unset means on.
        auth_enabled=env.get("AUTH", "on") != "off",
    )
