"""Environment settings, read once per process: the only module that reads the functions'
environment (tests/unit/test_config.py keeps it so).

Table names have no default in the cloud: a deployed function whose environment lacks one fails at
its first use of that table, naming the variable, instead of quietly using another stage's table.
Only with a local DynamoDB endpoint (DYNAMODB_ENDPOINT: `make run`, the benchmarks) does a missing
name fall back to the `dev` stage's table."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache

SERVICE = "event-registrations"
# serverless.yml's custom.tables for the dev stage: the local fallback only.
LOCAL_TABLES = {
    "EVENTS_TABLE": f"{SERVICE}-dev-events",
    "USERS_TABLE": f"{SERVICE}-dev-users",
    "REGISTRATIONS_TABLE": f"{SERVICE}-dev-registrations",
    "WAITLIST_TABLE": f"{SERVICE}-dev-waitlist",
    "IDEMPOTENCY_TABLE": f"{SERVICE}-dev-idempotency",
}


class ConfigurationError(RuntimeError):
    """The function's environment lacks something it needs (serverless.yml provider.environment)."""


@dataclass(frozen=True)
class Settings:
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
    service_name: str
    metrics_namespace: str
    tracing_enabled: bool
    # {variable: table name} as the environment gives them (absent: not set or empty).
    table_names: dict[str, str] = field(default_factory=dict)

    def table(self, variable: str) -> str:
        """The table the environment variable names; with a local endpoint, the dev stage's table
        when it is unset; otherwise ConfigurationError."""
        name = self.table_names.get(variable)
        if name:
            return name
        if self.dynamodb_endpoint:
            return LOCAL_TABLES[variable]
        raise ConfigurationError(
            f"{variable} is not set: a deployed function needs every table name in its environment "
            "(serverless.yml provider.environment); only a local DYNAMODB_ENDPOINT falls back to the dev tables"
        )

    @property
    def events_table(self) -> str:
        return self.table("EVENTS_TABLE")

    @property
    def users_table(self) -> str:
        return self.table("USERS_TABLE")

    @property
    def registrations_table(self) -> str:
        return self.table("REGISTRATIONS_TABLE")

    @property
    def waitlist_table(self) -> str:
        return self.table("WAITLIST_TABLE")

    @property
    def idempotency_table(self) -> str:
        return self.table("IDEMPOTENCY_TABLE")


@cache
def get_settings() -> Settings:
    env = os.environ
    return Settings(
        table_names={name: env[name] for name in LOCAL_TABLES if env.get(name)},
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
        service_name=env.get("POWERTOOLS_SERVICE_NAME") or SERVICE,
        metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or "EventRegistrations",
        # X-Ray, per stage (serverless.yml param:tracing); the SDK is imported only when on.
        tracing_enabled=env.get("TRACING_ENABLED", "false").lower() == "true",
    )
