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
    "Docs": {},
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


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not OSLS.exists() or not shutil.which("node"):
        pytest.fail("node_modules is missing: run `make install` (make test does)")
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""}
    subprocess.run(
        ["node", str(OSLS), "package", "--stage", "dev", "--package", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return json.loads((out / "cloudformation-template-update-stack.json").read_text())


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


def test_every_function_runs_on_graviton_by_default(template: dict[str, Any]) -> None:
    # provider.architecture is `${param:architecture, 'arm64'}`; the wheels follow it (test_deploy_package.py).
    architectures = {
        logical: resource["Properties"].get("Architectures")
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert architectures
    assert all(value == ["arm64"] for value in architectures.values()), architectures


PROTECTED_METHODS = {
    ("POST", "/events"),
    ("PUT", "/events/{eventId}"),
    ("DELETE", "/events/{eventId}"),
    ("POST", "/users"),
    ("GET", "/users/{userId}"),
    ("GET", "/users/{userId}/registrations"),
    ("GET", "/users/{userId}/waitlist"),
    ("POST", "/events/{eventId}/registrations"),
    ("DELETE", "/events/{eventId}/registrations/{userId}"),
    ("GET", "/events/{eventId}/registrations"),
    ("GET", "/events/{eventId}/waitlist"),
}


def _resource_path(resources: dict[str, Any], resource_id: Any) -> str:
    if resource_id == {"Fn::GetAtt": ["ApiGatewayRestApi", "RootResourceId"]}:
        return ""
    resource = resources[resource_id["Ref"]]["Properties"]
    return _resource_path(resources, resource["ParentId"]) + "/" + resource["PathPart"]


def test_cognito_user_pool_client_and_groups(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources["UserPool"]["Type"] == "AWS::Cognito::UserPool"
    assert resources["UserPool"]["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert resources["UserPoolClient"]["Properties"]["UserPoolId"] == {"Ref": "UserPool"}
    groups = {
        r["Properties"]["GroupName"]: r["Properties"]["UserPoolId"]
        for r in resources.values()
        if r["Type"] == "AWS::Cognito::UserPoolGroup"
    }
    assert groups == {"organizers": {"Ref": "UserPool"}, "admins": {"Ref": "UserPool"}}
    # An existing pool can stand in (param userPoolArn): then none of these is created.
    for name in ("UserPool", "UserPoolClient", "OrganizersGroup", "AdminsGroup"):
        assert resources[name]["Condition"] == "CreateUserPool"
    assert template["Conditions"]["CreateUserPool"] == {"Fn::Equals": [{"Ref": "UserPoolArn"}, ""]}


def test_the_cognito_authorizer_guards_every_protected_method_and_no_public_one(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    [(authorizer_id, authorizer)] = [(k, r) for k, r in resources.items() if r["Type"] == "AWS::ApiGateway::Authorizer"]
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    assert authorizer["Properties"]["ProviderARNs"] == [
        {"Fn::If": ["CreateUserPool", {"Fn::GetAtt": ["UserPool", "Arn"]}, {"Ref": "UserPoolArn"}]}
    ]
    guarded, open_methods = set(), set()
    for method in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Method"):
        key = (method["HttpMethod"], _resource_path(resources, method["ResourceId"]) or "/")
        if method["AuthorizationType"] == "COGNITO_USER_POOLS":
            assert method["AuthorizerId"] == {"Ref": authorizer_id}, key
            guarded.add(key)
        else:
            assert method["AuthorizationType"] == "NONE" and "AuthorizerId" not in method, key
            open_methods.add(key)
    assert guarded == PROTECTED_METHODS
    assert {
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("GET", "/events"),
        ("GET", "/events/{eventId}"),
    } <= open_methods
    # Preflights and the 404/405 fallback stay open; everything else is protected.
    assert all(m in {"GET", "OPTIONS", "ANY"} for m, _ in open_methods)


def test_refused_tokens_get_the_contracts_401(template: dict[str, Any]) -> None:
    response = template["Resources"]["GatewayResponseUnauthorized"]["Properties"]
    assert (response["ResponseType"], response["StatusCode"]) == ("UNAUTHORIZED", "401")
    assert response["ResponseParameters"]["gatewayresponse.header.WWW-Authenticate"] == "'Bearer'"
    assert '"detail"' in response["ResponseTemplates"]["application/json"]
    for function in (r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"):
        assert function["Properties"]["Environment"]["Variables"]["AUTH"] == "on"
