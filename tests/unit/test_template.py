"""The packaged CloudFormation template (`osls package`, offline): least privilege per function,
the stream mapping, alarms, queue, bus and throttling."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from local.config import ROOT

OSLS = ROOT / "node_modules" / "osls" / "bin" / "serverless.js"

# function → {DynamoDB / SQS / EventBridge action → the resources it may touch}; logs are checked apart.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "Health": {},
    "Openapi": {},
    "Fallback": {},
    "CreateEvent": {
        "dynamodb:PutItem": {"EventsTable", "IdempotencyTable"},
        "dynamodb:GetItem": {"IdempotencyTable"},
        "dynamodb:UpdateItem": {"IdempotencyTable"},
        "dynamodb:DeleteItem": {"IdempotencyTable"},
    },
    "ListEvents": {
        "dynamodb:Scan": {"EventsTable", "EventsTable/index/StatusIndex"},
        "dynamodb:Query": {"EventsTable", "EventsTable/index/StatusIndex"},
    },
    "GetEvent": {"dynamodb:GetItem": {"EventsTable"}},
    "UpdateEvent": {
        "dynamodb:UpdateItem": {"EventsTable", "RegistrationsTable"},
        "dynamodb:GetItem": {"EventsTable"},
        "dynamodb:Query": {"WaitlistTable"},
        "dynamodb:DeleteItem": {"WaitlistTable"},
    },
    "DeleteEvent": {
        "dynamodb:UpdateItem": {"EventsTable"},
        "dynamodb:DeleteItem": {"EventsTable"},
        "dynamodb:Query": {"RegistrationsTable", "WaitlistTable"},
        "dynamodb:BatchWriteItem": {"RegistrationsTable", "WaitlistTable"},
    },
    "CreateUser": {
        "dynamodb:PutItem": {"UsersTable", "IdempotencyTable"},
        "dynamodb:GetItem": {"IdempotencyTable"},
        "dynamodb:UpdateItem": {"IdempotencyTable"},
        "dynamodb:DeleteItem": {"IdempotencyTable"},
    },
    "GetUser": {"dynamodb:GetItem": {"UsersTable"}},
    "ListUserRegistrations": {
        "dynamodb:Query": {"RegistrationsTable/index/UserRegistrationsIndex"},
        "dynamodb:BatchGetItem": {"EventsTable"},
        "dynamodb:GetItem": {"UsersTable"},
    },
    "ListUserWaitlist": {
        "dynamodb:Query": {"WaitlistTable", "WaitlistTable/index/UserWaitlistIndex"},
        "dynamodb:BatchGetItem": {"EventsTable"},
        "dynamodb:GetItem": {"UsersTable"},
    },
    "Register": {
        "dynamodb:UpdateItem": {"EventsTable", "IdempotencyTable"},
        "dynamodb:ConditionCheckItem": {"UsersTable"},
        "dynamodb:PutItem": {"RegistrationsTable", "WaitlistTable", "IdempotencyTable"},
        "dynamodb:Query": {"WaitlistTable"},
        "dynamodb:GetItem": {"IdempotencyTable"},
        "dynamodb:DeleteItem": {"IdempotencyTable"},
    },
    "Unregister": {
        "dynamodb:UpdateItem": {"EventsTable"},
        "dynamodb:DeleteItem": {"RegistrationsTable", "WaitlistTable"},
    },
    "ListEventRegistrations": {
        "dynamodb:Query": {"RegistrationsTable/index/EventRegistrationsIndex"},
        "dynamodb:BatchGetItem": {"UsersTable", "EventsTable"},
    },
    "ListEventWaitlist": {
        "dynamodb:Query": {"WaitlistTable"},
        "dynamodb:BatchGetItem": {"UsersTable", "EventsTable"},
    },
    "Promotion": {
        "dynamodb:GetRecords": {"RegistrationsTable/stream"},
        "dynamodb:GetShardIterator": {"RegistrationsTable/stream"},
        "dynamodb:DescribeStream": {"RegistrationsTable/stream"},
        "dynamodb:ListStreams": {"RegistrationsTable/stream"},
        "dynamodb:UpdateItem": {"EventsTable", "RegistrationsTable"},
        "dynamodb:Query": {"WaitlistTable"},
        "dynamodb:DeleteItem": {"WaitlistTable"},
        "sqs:SendMessage": {"PromotionFailureQueue"},
        "events:PutEvents": {"EventBus"},
    },
    "Reconcile": {
        "dynamodb:Scan": {"EventsTable"},
        "dynamodb:GetItem": {"EventsTable"},
        "dynamodb:UpdateItem": {"EventsTable", "RegistrationsTable"},
        "dynamodb:Query": {"RegistrationsTable", "WaitlistTable"},
        "dynamodb:DeleteItem": {"WaitlistTable"},
    },
}


def _package(out: Any, *options: str) -> dict[str, Any]:
    if not OSLS.exists() or not shutil.which("node"):
        pytest.fail("node_modules is missing: run `make install` (make test does)")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""}
    subprocess.run(
        ["node", str(OSLS), "package", "--stage", "dev", "--package", str(out), *options],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return json.loads((out / "cloudformation-template-update-stack.json").read_text())


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _package(tmp_path_factory.mktemp("package"))


def _resource_name(resource: Any) -> str:
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical, attribute = resource["Fn::GetAtt"]
        return logical + ("/stream" if attribute == "StreamArn" else "")
    if isinstance(resource, dict) and "Fn::Join" in resource:
        _, parts = resource["Fn::Join"]
        return "/".join(_resource_name(part) if isinstance(part, dict) else part for part in parts)
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return resource["Fn::Sub"]
    return str(resource)


def _permissions(role: dict[str, Any]) -> tuple[dict[str, set[str]], list[dict[str, Any]]]:
    granted: dict[str, set[str]] = {}
    logs = []
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if all(action.startswith("logs:") for action in actions):
                logs.append(statement)
                continue
            for action in actions:
                granted.setdefault(action, set()).update(_resource_name(r) for r in resources)
    return granted, logs


def test_every_function_has_its_own_role_with_exactly_what_it_needs(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    functions = {
        k.removesuffix("LambdaFunction"): v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"
    }
    assert set(functions) == set(EXPECTED)
    for name, function in functions.items():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        assert role_id == f"{name}IamRoleLambdaExecution", f"{name} must not share a role"
        granted, logs = _permissions(resources[role_id])
        assert granted == EXPECTED[name], name
        for statement in logs:
            for resource in statement["Resource"]:
                assert f"/aws/lambda/event-registrations-dev-{name[0].lower()}{name[1:]}:" in _resource_name(resource)


def test_no_wildcard_actions_or_resources(template: dict[str, Any]) -> None:
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role" or logical == "IamRoleLambdaExecution":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not any("*" in action for action in actions), (logical, actions)
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                assert "*" not in resources, logical


def test_the_stream_mapping_is_bounded_filtered_and_has_a_failure_queue(template: dict[str, Any]) -> None:
    [mapping] = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["RegistrationsTable", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 100
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 86400
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["PromotionFailureQueue", "Arn"]}
    patterns = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert {"eventName": ["REMOVE"], "dynamodb": {"OldImage": {"status": {"S": ["confirmed"]}}}} in patterns
    assert template["Resources"]["PromotionFailureQueue"]["Type"] == "AWS::SQS::Queue"


def test_alarms_go_to_the_topic(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {
        "Api5xxRateAlarm",
        "ApiLatencyP95Alarm",
        "DynamoDBThrottlingAlarm",
        "PromotionFailuresAlarm",
        "PromotionIteratorAgeAlarm",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarms["Api5xxRateAlarm"]["Threshold"] == 5
    assert (alarms["ApiLatencyP95Alarm"]["ExtendedStatistic"], alarms["ApiLatencyP95Alarm"]["Threshold"]) == (
        "p95",
        1000,
    )
    assert alarms["PromotionIteratorAgeAlarm"]["Threshold"] == 60000
    throttled = [m for m in alarms["DynamoDBThrottlingAlarm"]["Metrics"] if "MetricStat" in m]
    assert len(throttled) == 8  # reads and writes of the four tables
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_stage_throttling_bus_schedule_and_tables(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    [deployment] = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Deployment"]
    stage = deployment["Properties"]["StageDescription"]
    assert stage["ThrottlingRateLimit"] == 100 and stage["ThrottlingBurstLimit"] == 200
    assert resources["EventBus"]["Properties"]["Name"] == "event-registrations-dev-bus"
    [schedule] = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert schedule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    tables = {r["Properties"]["TableName"] for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"}
    assert tables == {
        f"event-registrations-dev-{t}" for t in ("events", "users", "registrations", "waitlist", "idempotency")
    }


def test_snapstart_is_off_unless_the_stage_asks(template: dict[str, Any]) -> None:
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions and not any("SnapStart" in f["Properties"] for f in functions)
    assert not any(r["Type"] == "AWS::Lambda::Alias" for r in template["Resources"].values())


def test_snapstart_parameter_puts_every_function_behind_a_snapshot_alias(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Given the package of a stage with SnapStart on
    resources = _package(tmp_path_factory.mktemp("snapstart"), "--param=snapStart=true")["Resources"]
    functions = {
        k.removesuffix("LambdaFunction"): v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"
    }
    # Then every function snapshots its published versions, on a runtime that supports it
    assert set(functions) == set(EXPECTED)
    for name, function in functions.items():
        assert function["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}, name
        assert function["Properties"]["Runtime"] in {"python3.12", "python3.13", "python3.14"}, name
    aliases = {
        v["Properties"]["FunctionName"]["Ref"].removesuffix("LambdaFunction")
        for v in resources.values()
        if v["Type"] == "AWS::Lambda::Alias"
    }
    assert aliases == set(functions)
    # And every caller invokes the alias (a snapshot serves published versions only, never $LATEST)
    text = json.dumps(
        [
            v
            for v in resources.values()
            if v["Type"]
            in {
                "AWS::ApiGateway::Method",
                "AWS::Lambda::Permission",
                "AWS::Lambda::EventSourceMapping",
                "AWS::Events::Rule",
            }
        ]
    )
    assert '"snapstart"' in text
    methods = [
        v
        for v in resources.values()
        if v["Type"] == "AWS::ApiGateway::Method" and v["Properties"].get("Integration", {}).get("Uri")
    ]
    assert methods and all('"snapstart"' in json.dumps(m["Properties"]["Integration"]["Uri"]) for m in methods)
    [mapping] = [v for v in resources.values() if v["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert "snapstart" in json.dumps(mapping["Properties"]["FunctionName"])
