"""The packaged CloudFormation template (`osls package`, offline): least privilege per function,
the stream mapping, alarms, queue, bus and throttling, and the security settings of both stage
profiles (`default`, packaged as `dev`, and the stricter `prod`: serverless.yml `params`); and the
zip beside it: boto3/botocore at their pins, with the preloaded models of that botocore."""

from __future__ import annotations

import ast
import json
import marshal
import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from local import config
from local.config import ROOT
from shared.repositories import clients

OSLS = ROOT / "node_modules" / "osls" / "bin" / "serverless.js"

PAGINATION_SECRET_ARN = (
    "arn:AWS::Partition:ssm:AWS::Region:AWS::AccountId:parameter/event-registrations/{stage}/pagination-secret"
)


def _declared_grants() -> dict[str, dict[str, set[str]]]:
    """function → {DynamoDB / SQS / EventBridge / SSM action → the resources it may touch}, as each
    function module declares in its `GRANTS` (read from the source, not imported): the review of
    least privilege sits beside the code that needs it, and a new function declares its own. Logs
    are checked apart; `PaginationSecret` is the stage's SSM parameter."""
    declared = {}
    for name, function in config.load()["functions"].items():
        module = ROOT / (function["handler"].rsplit(".", 1)[0] + ".py")
        assignments = [
            node.value
            for node in ast.parse(module.read_text()).body
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            and node.value is not None
            and any(
                isinstance(target, ast.Name) and target.id == "GRANTS"
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
        ]
        assert len(assignments) == 1, f"{module.relative_to(ROOT)} must declare GRANTS once"
        grants = ast.literal_eval(assignments[0])
        declared[name[0].upper() + name[1:]] = {
            action: {PAGINATION_SECRET_ARN if r == "PaginationSecret" else r for r in resources}
            for action, resources in grants.items()
        }
    return declared


EXPECTED = _declared_grants()


# The stage's customer-managed key, prod only: what each role may do with it, through which service.
KEY_GRANTS = {
    "dynamodb": {"kms:Decrypt"},
    "sqs": {"kms:GenerateDataKey", "kms:Decrypt"},
}
BACKGROUND_FUNCTIONS = {"Promotion", "EventChanges", "Reconcile"}
API_FUNCTIONS = set(EXPECTED) - BACKGROUND_FUNCTIONS
# osls's deploy-time helper that sets API Gateway's account logging role (default profile only).
LOGGING_ROLE_HELPER = "CustomDashresourceDashapigwDashcwDashroleLambdaFunction"


@dataclass(frozen=True)
class Packaged:
    stage: str
    template: dict[str, Any]
    service: dict[str, Any]  # the resolved serverless.yml (serverless-state.json)
    directory: Path  # osls's output: the template and event-registrations.zip

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def of_type(self, kind: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}


def _package(stage: str, out: Path, *options: str) -> Packaged:
    if not OSLS.exists() or not shutil.which("node"):
        pytest.fail("node_modules is missing: run `make install` (make test does)")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""}
    subprocess.run(
        ["node", str(OSLS), "package", "--stage", stage, "--package", str(out), *options],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return Packaged(
        stage,
        json.loads((out / "cloudformation-template-update-stack.json").read_text()),
        json.loads((out / "serverless-state.json").read_text())["service"],
        out,
    )


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    return _package("dev", tmp_path_factory.mktemp("package-dev"))


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    return _package("prod", tmp_path_factory.mktemp("package-prod"))


@pytest.fixture(scope="module", params=["dev", "prod"])
def profile(request: pytest.FixtureRequest) -> Packaged:
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def template(dev: Packaged) -> dict[str, Any]:
    return dev.template


def _resource_name(resource: Any) -> str:
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical, attribute = resource["Fn::GetAtt"]
        return logical + ("/stream" if attribute == "StreamArn" else "")
    if isinstance(resource, dict) and "Fn::Join" in resource:
        separator, parts = resource["Fn::Join"]
        return separator.join(_resource_name(part) if isinstance(part, dict) else part for part in parts)
    if isinstance(resource, dict) and "Ref" in resource:
        return str(resource["Ref"])
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
            via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
            suffix = f" via {via['Fn::Sub'].split('.')[0]}" if via else ""
            for action in actions:
                granted.setdefault(action + suffix, set()).update(_resource_name(r) for r in resources)
    return granted, logs


def _expected(name: str, stage: str) -> dict[str, set[str]]:
    """prod adds the key, through the service of each table or queue the function reaches."""
    expected = {action: {r.format(stage=stage) for r in resources} for action, resources in EXPECTED[name].items()}
    if stage == "prod":
        for service, actions in KEY_GRANTS.items():
            if any(action.startswith(f"{service}:") for action in EXPECTED[name]):
                for action in actions:
                    expected[f"{action} via {service}"] = {"DataKey"}
    return expected


def test_every_function_has_its_own_role_with_exactly_what_it_needs(profile: Packaged) -> None:
    resources = profile.resources
    functions = {
        k.removesuffix("LambdaFunction"): v
        for k, v in profile.of_type("AWS::Lambda::Function").items()
        if k != LOGGING_ROLE_HELPER
    }
    assert set(functions) == set(EXPECTED)
    for name, function in functions.items():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        assert role_id == f"{name}IamRoleLambdaExecution", f"{name} must not share a role"
        granted, logs = _permissions(resources[role_id])
        assert granted == _expected(name, profile.stage), name
        for statement in logs:
            for resource in statement["Resource"]:
                log_group = f"/aws/lambda/event-registrations-{profile.stage}-{name[0].lower()}{name[1:]}:"
                assert log_group in _resource_name(resource)


def test_no_wildcard_actions_or_resources(profile: Packaged) -> None:
    for logical, resource in profile.resources.items():
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


def test_the_stream_mappings_are_bounded_filtered_and_have_their_failure_queue_and_alarm(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    mappings = {
        r["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    assert set(mappings) == {"RegistrationsTable", "EventsTable"}
    queues = {"RegistrationsTable": "PromotionFailureQueue", "EventsTable": "EventChangesFailureQueue"}
    alarmed = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in resources.values()
        if a["Type"] == "AWS::CloudWatch::Alarm" and a["Properties"].get("Namespace") == "AWS/SQS"
    }
    for table, mapping in mappings.items():
        assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table, "StreamArn"]}
        assert resources[table]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BisectBatchOnFunctionError"] is True
        assert 0 < mapping["MaximumRetryAttempts"] <= 100
        assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 86400
        assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [queues[table], "Arn"]}
        assert resources[queues[table]]["Type"] == "AWS::SQS::Queue"
        assert queues[table] in alarmed
    patterns = [json.loads(f["Pattern"]) for f in mappings["RegistrationsTable"]["FilterCriteria"]["Filters"]]
    assert {"eventName": ["REMOVE"], "dynamodb": {"OldImage": {"status": {"S": ["confirmed"]}}}} in patterns
    patterns = [json.loads(f["Pattern"]) for f in mappings["EventsTable"]["FilterCriteria"]["Filters"]]
    assert patterns == [
        {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"deleting": {"BOOL": [True]}}}},
        {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"waitlistCount": {"N": [{"anything-but": ["0"]}]}}}},
    ]
    # Long work (a deletion of thousands of children): a timeout to match, and more memory.
    changes = resources["EventChangesLambdaFunction"]["Properties"]
    assert changes["Timeout"] >= 300


def test_alarms_go_to_the_topic(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {
        "Api5xxRateAlarm",
        "ApiLatencyP95Alarm",
        "DynamoDBThrottlingAlarm",
        "EventChangesFailuresAlarm",
        "EventChangesIteratorAgeAlarm",
        "PromotionFailuresAlarm",
        "PromotionIteratorAgeAlarm",
        "ReconcileFailuresAlarm",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarms["Api5xxRateAlarm"]["Threshold"] == 5
    assert (alarms["ApiLatencyP95Alarm"]["ExtendedStatistic"], alarms["ApiLatencyP95Alarm"]["Threshold"]) == (
        "p95",
        1000,
    )
    assert alarms["PromotionIteratorAgeAlarm"]["Threshold"] == 60000
    assert alarms["EventChangesIteratorAgeAlarm"]["Threshold"] == 900000
    assert alarms["EventChangesIteratorAgeAlarm"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "EventChangesLambdaFunction"}}
    ]
    throttled = [m for m in alarms["DynamoDBThrottlingAlarm"]["Metrics"] if "MetricStat" in m]
    assert len(throttled) == 8  # reads and writes of the four tables
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_stage_throttling_bus_schedule_and_tables(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    [deployment] = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Deployment"]
    stage = deployment["Properties"]["StageDescription"]
    assert stage["ThrottlingRateLimit"] == 100 and stage["ThrottlingBurstLimit"] == 200
    # The registration route has its own bound, and API Gateway's 429 says when to retry
    register = [s for s in stage["MethodSettings"] if s["HttpMethod"] == "POST"]
    assert register == [
        {
            "ResourcePath": "~1events~1{eventId}~1registrations",
            "HttpMethod": "POST",
            "ThrottlingRateLimit": 100,
            "ThrottlingBurstLimit": 100,
            "MetricsEnabled": True,
        }
    ]
    throttled = resources["GatewayResponseThrottled"]["Properties"]
    assert (throttled["ResponseType"], throttled["StatusCode"]) == ("THROTTLED", "429")
    assert throttled["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    assert resources["EventBus"]["Properties"]["Name"] == "event-registrations-dev-bus"
    [schedule] = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert schedule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    tables = {r["Properties"]["TableName"] for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"}
    assert tables == {
        f"event-registrations-dev-{t}" for t in ("events", "users", "registrations", "waitlist", "idempotency")
    }


def test_the_page_token_key_is_no_literal_but_a_per_stage_ssm_parameter(template: dict[str, Any]) -> None:
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        if "Environment" not in resource["Properties"]:
            continue  # the Framework's own custom-resource helper
        variables = resource["Properties"]["Environment"]["Variables"]
        assert "PAGINATION_SECRET" not in variables, logical
        assert variables["PAGINATION_SECRET_PARAMETER"] == "/event-registrations/dev/pagination-secret", logical
    assert "change-me" not in json.dumps(template)


def test_cors_comes_from_one_configuration(template: dict[str, Any]) -> None:
    """API Gateway answers preflights itself (the functions never see them once deployed): its
    OPTIONS methods, its own error responses and the functions' CORSConfig must agree."""
    resources = template["Resources"]
    preflights = [
        r["Properties"]["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::Method" and r["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    assert len(preflights) >= 13  # one per path, / and /{proxy+} included
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    variables = [f["Properties"]["Environment"]["Variables"] for f in functions if "Environment" in f["Properties"]]
    origins = {v["CORS_ALLOW_ORIGIN"] for v in variables}
    header_lists = {v["CORS_ALLOW_HEADERS"] for v in variables}
    assert origins == {"*"} and len(header_lists) == 1
    [allowed_headers] = header_lists
    assert {"Content-Type", "Idempotency-Key", "Authorization"} <= set(allowed_headers.split(","))
    for parameters in preflights:
        assert parameters["method.response.header.Access-Control-Allow-Headers"] == f"'{allowed_headers}'"
        assert parameters["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    for name in ("GatewayResponseDefault4XX", "GatewayResponseDefault5XX"):
        origin = resources[name]["Properties"]["ResponseParameters"][
            "gatewayresponse.header.Access-Control-Allow-Origin"
        ]
        assert origin == "'*'"


def test_the_fallback_answers_any_method_on_every_path_and_every_path_has_its_preflight(
    template: dict[str, Any],
) -> None:
    """plugins/routes.js: the fallback's ANY events and every http event's CORS come from the one
    route list, serverless.yml's http events (shared/api/routes.json is its copy)."""
    from shared.api.routes import ROUTES

    resources = template["Resources"]
    catch_all, preflights = set(), set()
    for method in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Method"):
        path = _path(resources, method["ResourceId"]) or "/"
        if method["HttpMethod"] == "ANY":
            assert '"FallbackLambdaFunction"' in json.dumps(method["Integration"]), path
            catch_all.add(path)
        elif method["HttpMethod"] == "OPTIONS":
            preflights.add(path)
    assert catch_all == {"/", "/{proxy+}", *ROUTES}
    assert preflights == catch_all


def test_the_local_view_of_serverless_yml_has_the_events_osls_packages(dev: Packaged) -> None:
    # local/config.py repeats plugins/routes.js for the tests and the local tooling.
    def http_events(functions: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        return {
            name: [
                # osls keeps paths without their leading slash
                {
                    **{key: event["http"][key] for key in ("method", "cors")},
                    "path": "/" + event["http"]["path"].strip("/"),
                }
                for event in function.get("events", [])
                if "http" in event
            ]
            for name, function in functions.items()
        }

    packaged = http_events(dev.service["functions"])
    local = http_events(config.load()["functions"])
    assert {name: [(e["path"], e["method"]) for e in events] for name, events in local.items()} == {
        name: [(e["path"], e["method"]) for e in events] for name, events in packaged.items()
    }
    assert all(event["cors"] for events in packaged.values() for event in events)


# botocore's data directories the zip keeps (serverless.yml slimPatterns): the clients we create
# (clients.SERVICES) and ssm, whose client Powertools parameters creates for the page-token key.
PACKAGED_BOTOCORE_SERVICES = {*clients.SERVICES, "ssm"}


def _version(source: bytes) -> str:
    found = re.search(rb"^__version__ = ['\"]([^'\"]+)['\"]", source, re.MULTILINE)
    assert found, "no __version__"
    return found.group(1).decode()


def test_the_zip_ships_the_pinned_boto3_and_botocore_and_their_preloaded_models(dev: Packaged) -> None:
    # Given the pins (Lambda puts the package before the runtime's own boto3 on sys.path)
    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith(("boto3==", "botocore=="))
    )
    # When the packaged zip is read
    with zipfile.ZipFile(dev.directory / "event-registrations.zip") as package:
        names = set(package.namelist())
        shipped = {module: _version(package.read(f"{module}/__init__.py")) for module in ("boto3", "botocore")}
        recorded = marshal.loads(package.read(clients.MODELS.relative_to(ROOT).as_posix()))
    # Then boto3 and botocore are there at their pins, and the models belong to that botocore
    assert shipped == pins
    assert recorded["botocore"] == shipped["botocore"]
    # with their dependencies (the runtime's would not match the pins)
    for module in ("s3transfer/__init__.py", "jmespath/__init__.py", "dateutil/__init__.py", "urllib3/__init__.py"):
        assert module in names, module
    # and botocore's data only for the services we call, beside its shared top-level files
    services = {name.split("/")[2] for name in names if re.match(r"botocore/data/[^/]+/", name)}
    assert services == PACKAGED_BOTOCORE_SERVICES
    for data in ("endpoints.json", "partitions.json", "sdk-default-configuration.json", "_retry.json"):
        assert f"botocore/data/{data}" in names, data
    assert any(re.match(r"botocore/data/dynamodb/[^/]+/service-2\.json\.gz$", name) for name in names)


def _skips(resource: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["comment"] for s in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])}


def test_profiles_differ_as_the_params_block_says(dev: Packaged, prod: Packaged) -> None:
    params = yaml.safe_load((ROOT / "serverless.yml").read_text().split("\nprovider:")[0])["params"]
    assert params["default"]["customerManagedKeys"] is False and params["prod"]["customerManagedKeys"] is True
    for profile, retention in (
        (dev, params["default"]["logRetentionDays"]),
        (prod, params["prod"]["logRetentionDays"]),
    ):
        groups = profile.of_type("AWS::Logs::LogGroup")
        assert "ApiGatewayLogGroup" in groups  # the stage's access logs
        assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {retention}
    assert retention > params["default"]["logRetentionDays"]
    # prod sets API Gateway's logging role outside the stack: no function there may write IAM.
    assert LOGGING_ROLE_HELPER in dev.resources and LOGGING_ROLE_HELPER not in prod.resources
    assert "IamRoleCustomResourcesLambdaExecution" not in prod.resources


def test_access_logs_hold_no_personal_data(profile: Packaged) -> None:
    rest_api = profile.service["provider"]["logs"]["restApi"]
    assert rest_api["accessLogging"] is True
    assert rest_api["executionLogging"] is False and rest_api["fullExecutionData"] is False
    fields = json.loads(rest_api["format"])  # one JSON object per request
    assert {"$context.requestId", "$context.status", "$context.resourcePath"} <= set(fields.values())
    assert not any(word in rest_api["format"] for word in ("sourceIp", "userAgent", "caller", "user", "claims"))


def test_prod_encrypts_everything_at_rest_with_its_own_rotated_retained_key(prod: Packaged) -> None:
    key = prod.resources["DataKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"  # retained tables need it
    arn = {"Fn::GetAtt": ["DataKey", "Arn"]}
    for table in prod.of_type("AWS::DynamoDB::Table").values():
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": arn}
    for queue in prod.of_type("AWS::SQS::Queue").values():
        assert queue["Properties"]["KmsMasterKeyId"] == arn
    assert prod.resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == arn
    for group in prod.of_type("AWS::Logs::LogGroup").values():
        assert group["Properties"]["KmsKeyId"] == arn
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    # Alarms can publish to the encrypted topic; CloudWatch Logs may use the key for this stage's groups only.
    assert statements["CloudWatchAlarmsOfThisAccountPublishToTheTopic"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"
    }
    log_groups = statements["CloudWatchLogsForThisStacksLogGroupsOnly"]["Condition"]["ArnLike"]
    patterns = [p["Fn::Sub"] for p in log_groups["kms:EncryptionContext:aws:logs:arn"]]
    assert all(":log-group:/aws/" in p and "event-registrations-prod" in p for p in patterns)
    assert not any(p.endswith(":log-group:*") for p in patterns)


def test_default_profile_encrypts_queues_and_lets_alarms_publish(dev: Packaged) -> None:
    assert "DataKey" not in dev.resources
    for queue in dev.of_type("AWS::SQS::Queue").values():
        assert queue["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs"
    # The AWS-managed SNS key's policy cannot admit CloudWatch alarms: they would never notify.
    assert "KmsMasterKeyId" not in dev.resources["AlarmTopic"]["Properties"]
    assert set(_skips(dev.resources["AlarmTopic"])) == {"CKV_AWS_26"}
    for table in dev.of_type("AWS::DynamoDB::Table").values():
        assert "CKV_AWS_119" in _skips(table)


def test_background_functions_are_bounded_and_reconcile_has_a_dead_letter_queue(profile: Packaged) -> None:
    functions = profile.of_type("AWS::Lambda::Function")
    reserved = {
        k.removesuffix("LambdaFunction"): v["Properties"]["ReservedConcurrentExecutions"]
        for k, v in functions.items()
        if "ReservedConcurrentExecutions" in v["Properties"]
    }
    assert reserved == {"Promotion": 5, "EventChanges": 5, "Reconcile": 1}
    reconcile = functions["ReconcileLambdaFunction"]["Properties"]
    assert reconcile["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": ["ReconcileFailureQueue", "Arn"]}}
    [alarm] = [
        a
        for a in profile.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ReconcileFailureQueue", "QueueName"]}}]
    ]
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_deployment_bucket_is_private_versioned_and_tls_only(profile: Packaged) -> None:
    bucket = profile.resources["ServerlessDeploymentBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [deny] = profile.resources["ServerlessDeploymentBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}


PUBLIC_METHODS = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/swagger-ui.js"),
    ("GET", "/docs/swagger-ui.css"),
    ("GET", "/events"),
    ("GET", "/events/{eventId}"),
}


def _path(resources: dict[str, Any], resource_id: Any) -> str:
    if resource_id == {"Fn::GetAtt": ["ApiGatewayRestApi", "RootResourceId"]}:
        return ""
    resource = resources[resource_id["Ref"]]["Properties"]
    return _path(resources, resource["ParentId"]) + "/" + resource["PathPart"]


def test_only_public_routes_and_the_fallback_skip_the_authorizer_check(profile: Packaged) -> None:
    resources = profile.resources
    skipped = set()
    for method in profile.of_type("AWS::ApiGateway::Method").values():
        if "CKV_AWS_59" not in _skips(method):
            continue
        properties = method["Properties"]
        path = _path(resources, properties["ResourceId"]) or "/"
        [target] = [p["Fn::GetAtt"][0] for p in properties["Integration"]["Uri"]["Fn::Join"][1] if "Fn::GetAtt" in p]
        if properties["HttpMethod"] == "ANY":
            assert target == "FallbackLambdaFunction", path  # 404/405 only, no data
        else:
            skipped.add((properties["HttpMethod"], path))
    assert skipped == PUBLIC_METHODS


def test_every_skipped_check_says_why(profile: Packaged) -> None:
    for logical, resource in profile.resources.items():
        for check, comment in _skips(resource).items():
            assert check.startswith("CKV"), logical
            assert len(comment.split()) >= 8, (logical, check)  # a reason, not a placeholder
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    skip_list = lines.index("skip-check:")
    for number, line in enumerate(lines[skip_list + 1 :], start=skip_list + 1):
        if line.strip().startswith("- CKV"):
            assert lines[number - 1].strip().startswith("#"), f".checkov.yaml: {line.strip()} has no reason above it"


def test_the_local_stack_reads_the_params_block_as_osls_does(profile: Packaged) -> None:
    """local/config.py gives `make run` and the tests the environment the deployed functions get."""
    [deployed] = {
        json.dumps(f["Properties"]["Environment"]["Variables"], sort_keys=True)
        for k, f in profile.of_type("AWS::Lambda::Function").items()
        if k != LOGGING_ROLE_HELPER
    }
    cloud = {k: config._as_cloudformation_string(v) for k, v in json.loads(deployed).items()}
    local = config.environment(profile.stage)
    del cloud["DYNAMODB_ENDPOINT"], local["DYNAMODB_ENDPOINT"]  # the local stack's own endpoint
    # Authentication: on when deployed, off on this machine unless AUTH=on (as `make run`).
    assert (cloud.pop("AUTH"), local.pop("AUTH")) == ("on", "on" if os.environ.get("AUTH") == "on" else "off")
    assert local == cloud
    assert local["MAX_BODY_BYTES"] == "65536" and local["TRACING_ENABLED"] == "false"
    resolved = config.load(profile.stage)
    for path in (("custom", "encryption"), ("provider", "logs"), ("provider", "logRetentionInDays")):
        assert resolved[path[0]][path[1]] == profile.service[path[0]][path[1]], path


def test_only_api_functions_skip_the_concurrency_and_dead_letter_checks(profile: Packaged) -> None:
    skips = {
        k.removesuffix("LambdaFunction"): set(_skips(f))
        for k, f in profile.of_type("AWS::Lambda::Function").items()
        if k != LOGGING_ROLE_HELPER
    }
    for name in API_FUNCTIONS:
        assert skips[name] == {"CKV_AWS_115", "CKV_AWS_116"}, name
    # Background functions are bounded (reserved) and their failures kept: no blanket skip.
    assert skips["Promotion"] == {"CKV_AWS_116"}  # its stream mapping's on-failure queue instead
    assert skips["EventChanges"] == {"CKV_AWS_116"}
    assert skips["Reconcile"] == set()


def test_every_function_runs_on_graviton_by_default(template: dict[str, Any]) -> None:
    # provider.architecture is `${param:architecture, 'arm64'}`; the wheels follow it (test_deploy_package.py).
    architectures = {
        logical: resource["Properties"].get("Architectures")
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert architectures
    assert all(value == ["arm64"] for value in architectures.values()), architectures


def test_snapstart_is_off_unless_the_stage_asks(template: dict[str, Any]) -> None:
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions and not any("SnapStart" in f["Properties"] for f in functions)
    assert not any(r["Type"] == "AWS::Lambda::Alias" for r in template["Resources"].values())


def test_snapstart_parameter_puts_every_function_behind_a_snapshot_alias(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Given the package of a stage with SnapStart on
    resources = _package("dev", tmp_path_factory.mktemp("snapstart"), "--param=snapStart=true").resources
    functions = {
        k.removesuffix("LambdaFunction"): v
        for k, v in resources.items()
        if v["Type"] == "AWS::Lambda::Function" and k != LOGGING_ROLE_HELPER
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
    methods = [
        v
        for v in resources.values()
        if v["Type"] == "AWS::ApiGateway::Method" and v["Properties"].get("Integration", {}).get("Uri")
    ]
    assert methods and all('"snapstart"' in json.dumps(m["Properties"]["Integration"]["Uri"]) for m in methods)
    mappings = [v for v in resources.values() if v["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 2
    for mapping in mappings:
        assert "snapstart" in json.dumps(mapping["Properties"]["FunctionName"])
    [schedule] = [v for v in resources.values() if v["Type"] == "AWS::Events::Rule"]
    assert "snapstart" in json.dumps(schedule["Properties"]["Targets"])


# Every route but the public ones (SPEC.md): a new route is protected without a word here.
PROTECTED_METHODS = {
    (method, path)
    for path, methods in json.loads((ROOT / "shared" / "api" / "routes.json").read_text()).items()
    for method in methods
} - PUBLIC_METHODS


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
        key = (method["HttpMethod"], _path(resources, method["ResourceId"]) or "/")
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
    functions = [
        r for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function" and k != LOGGING_ROLE_HELPER
    ]
    assert functions and all(f["Properties"]["Environment"]["Variables"]["AUTH"] == "on" for f in functions)
