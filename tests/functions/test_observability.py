"""Logs, metrics and tracing as a team running this sees them: one structured JSON line per
business action with ids and the request id, never a user's name or a request body; one EMF
metric per action; X-Ray only when switched on."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import boto3
import pytest

from functions.promotion import handler as promotion
from local.config import FAKE_AWS, ROOT
from shared.config import get_settings
from tests.builders import ApiClient, LambdaContext, stream_records
from tests.helpers import make_event, register

SECRET_NAME = "Zebulon Quillfeather-Secretname"


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_business_actions_are_logged_and_counted_without_names(
    api: ApiClient, capsys: pytest.CaptureFixture[str], info_logs: io.StringIO
) -> None:
    # Given a full event with a waitlist and three users, one with a name we must never log
    event_id = make_event(api, capacity=1, waitlistEnabled=True)["eventId"]
    closed = make_event(api, capacity=1)["eventId"]
    users = []
    for n in range(3):
        user_id = f"obs-{n}-{event_id}"
        assert api.post("/users", {"userId": user_id, "name": f"{SECRET_NAME} {n}"}).status == 201
        users.append(user_id)
    holder, waiter, latecomer = users
    # When they register, overflow, unregister and get promoted from the stream
    register(api, event_id, holder)
    register(api, event_id, waiter)
    register(api, closed, holder)
    assert register(api, closed, latecomer).status == 409
    api.delete(f"/events/{event_id}/registrations/{holder}")
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    records = stream_records(api_client(), streams, get_settings().registrations_table)
    removal = [r for r in records if r["eventName"] == "REMOVE"]
    promotion.lambda_handler({"Records": removal}, LambdaContext())
    records = stream_records(api_client(), streams, get_settings().registrations_table)
    modify = [r for r in records if r["eventName"] == "MODIFY"]
    promotion.lambda_handler({"Records": modify}, LambdaContext())

    output = info_logs.getvalue() + capsys.readouterr().out
    logs = json_lines(info_logs.getvalue())
    emf = [line for line in json_lines(output) if "_aws" in line]

    # Then each action has its structured line, with ids, a timestamp and the request id
    by_message = {line["message"]: line for line in logs}
    assert {"user created", "RegistrationConfirmed", "Waitlisted", "Unregistered", "Promoted", "EventFull"} <= set(
        by_message
    )
    assert by_message["Waitlisted"]["userId"] == waiter and by_message["Waitlisted"]["eventId"] == event_id
    assert by_message["Promoted"]["userId"] == waiter
    for message in ("user created", "RegistrationConfirmed", "Waitlisted", "Unregistered"):
        line = by_message[message]
        assert line["timestamp"] and line["level"] == "INFO"
        assert line.get("correlation_id"), f"{message} has no API Gateway request id"
    # And no name or request body ever reaches the logs
    assert SECRET_NAME not in output.replace("\\", "")
    for line in logs:
        assert "Secretname" not in json.dumps(line)
    # And every action is an EMF metric in the configured namespace
    metric_names = {m["Name"] for line in emf for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {
        "UserCreated",
        "RegistrationConfirmed",
        "Waitlisted",
        "Unregistered",
        "Promoted",
        "EventFull",
    } <= metric_names
    namespaces = {d["Namespace"] for line in emf for d in line["_aws"]["CloudWatchMetrics"]}
    assert namespaces == {"EventRegistrations"}


def api_client() -> Any:
    from shared.repositories.dynamo import get_client

    return get_client()


@pytest.mark.parametrize(("enabled", "expected"), [("true", True), ("false", False)])
def test_xray_is_imported_only_when_tracing_is_on(enabled: str, expected: bool) -> None:
    code = (
        "import sys, json\n"
        "from tests.builders import api_event, LambdaContext\n"
        "from functions.health import get\n"
        "response = get.lambda_handler(api_event('GET', '/health'), LambdaContext())\n"
        "print(json.dumps([response['statusCode'], 'aws_xray_sdk' in sys.modules]))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "TRACING_ENABLED": enabled,
        **FAKE_AWS,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    status, imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 200
    assert imported is expected
