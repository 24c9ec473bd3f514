"""serverless.yml, read the way the tests and the local stack need it: variables resolved for a
stage, CloudFormation tags kept as plain data. The tables are created from its resources, so the
schemas the tests use cannot drift from the ones deployed."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVERLESS_YML = ROOT / "serverless.yml"
# The one set of fake AWS credentials and region: the local stack, the tests (moto) and the
# benchmarks all use it. Never real credentials: every endpoint they reach is local or mocked.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    # botocore 1.44 would otherwise target an account-specific host that moto does not answer.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}
_VARIABLE = re.compile(r"\$\{([^${}]+)\}")
_PARAMETER = re.compile(r"^\$\{param:(\w+)(?:,[^{}]*)?\}$")


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {f"Fn::{tag_suffix}" if tag_suffix != "Ref" else "Ref": value}


_CfnLoader.add_multi_constructor("!", _tag)


def _lookup(config: dict[str, Any], path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        node = node[part]
    return node


def _resolve_one(expression: str, config: dict[str, Any], stage: str) -> Any:
    source, _, fallback = (part.strip() for part in expression.partition(","))
    fallback_value = fallback.strip("'\"") if fallback else None
    kind, _, name = source.partition(":")
    if kind == "self":
        return _lookup(config, name)
    if (kind == "sls" and name == "stage") or source == "opt:stage":
        return stage
    if kind == "env":
        return os.environ.get(name, fallback_value)
    if source.startswith("strToBool(") and source.endswith(")"):
        return source.removeprefix("strToBool(").removesuffix(")").strip().lower() in {"true", "1"}
    if kind == "param":
        # serverless.yml `params:`: the stage's own value, else `default`'s, as osls resolves them.
        params = config.get("params", {})
        for profile in (stage, "default"):
            if name in (params.get(profile) or {}):
                return params[profile][name]
        return fallback_value
    if kind in {"opt", "aws"}:
        return fallback_value
    raise ValueError(f"unsupported variable ${{{expression}}}")


def _resolve(node: Any, config: dict[str, Any], stage: str) -> Any:
    if isinstance(node, dict):
        return {key: _resolve(value, config, stage) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value, config, stage) for value in node]
    if isinstance(node, str):
        for _ in range(10):
            match = _VARIABLE.search(node)
            if not match:
                break
            replacement = _resolve_one(match.group(1), config, stage)
            if match.group(0) == node:
                node = replacement
                if not isinstance(node, str):
                    return _resolve(node, config, stage)
            else:
                node = node[: match.start()] + str(replacement) + node[match.end() :]
    return node


@cache
def _raw() -> dict[str, Any]:
    return yaml.load(SERVERLESS_YML.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@cache
def load(stage: str = "dev") -> dict[str, Any]:
    raw = _raw()
    return _with_route_defaults(_resolve(raw, raw, stage))


def _with_route_defaults(service: dict[str, Any]) -> dict[str, Any]:
    """What plugins/routes.js adds before osls reads the functions: each http event's CORS, and
    the fallback function's ANY on `/`, `/{proxy+}` and every declared path (tests/unit/
    test_template.py compares the two)."""
    settings = service["custom"]["routes"]
    fallback = service["functions"][settings["fallbackFunction"]]
    paths = ["/", "/{proxy+}"]
    for function in service["functions"].values():
        for event in function.get("events", []):
            if "http" in event:
                event["http"].setdefault("cors", settings["cors"])
                path = "/" + event["http"]["path"].strip("/")
                if path not in paths:
                    paths.append(path)
    fallback["events"] = [
        *fallback.get("events", []),
        *({"http": {"path": path, "method": "any", "cors": settings["cors"]}} for path in paths),
    ]
    return service


def parameter_variables() -> dict[str, str]:
    """The functions' environment variables that serverless.yml takes from a stage parameter
    (`MAX_BODY_BYTES: ${param:maxBodyBytes, 65536}`), as {variable: parameter}."""
    found = {}
    for name, value in _raw()["provider"]["environment"].items():
        match = _PARAMETER.match(str(value))
        if match:
            found[name] = match.group(1)
    return found


def table_definitions(stage: str = "dev") -> list[dict[str, Any]]:
    """CreateTable arguments for every AWS::DynamoDB::Table in serverless.yml."""
    definitions = []
    for resource in load(stage)["resources"]["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        definition: dict[str, Any] = {
            key: props[key]
            for key in ("TableName", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
            if key in props
        }
        if "StreamSpecification" in props:
            definition["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        definitions.append(definition)
    return definitions


def environment(stage: str = "dev") -> dict[str, str]:
    """The provider environment the functions get (resolved for `stage`), for running them on this
    machine: authentication there is off unless AUTH=on, as with `make run` (deployed, it is on)."""
    env = {key: _as_cloudformation_string(value) for key, value in load(stage)["provider"]["environment"].items()}
    env["AUTH"] = "on" if os.environ.get("AUTH") == "on" else "off"
    return env


def _as_cloudformation_string(value: Any) -> str:
    """How a Lambda sees a YAML value in its environment: booleans lowercase (`false`), like CloudFormation."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def create_tables(client: Any, stage: str = "dev") -> list[str]:
    """Creates the missing tables, and turns on the stream of an existing table that serverless.yml
    streams but local data from before that change does not; returns the names of all of them."""
    existing = set(client.list_tables().get("TableNames", []))
    names = []
    for definition in table_definitions(stage):
        name = definition["TableName"]
        if name not in existing:
            client.create_table(**definition)
        elif "StreamSpecification" in definition and not client.describe_table(TableName=name)["Table"].get(
            "LatestStreamArn"
        ):
            client.update_table(TableName=name, StreamSpecification=definition["StreamSpecification"])
        names.append(name)
    return names


def event_bus_names(stage: str = "dev") -> list[str]:
    return [
        resource["Properties"]["Name"]
        for resource in load(stage)["resources"]["Resources"].values()
        if resource["Type"] == "AWS::Events::EventBus"
    ]


def create_event_buses(client: Any, stage: str = "dev") -> list[str]:
    """Creates the missing EventBridge buses of serverless.yml; returns their names."""
    existing = {bus["Name"] for bus in client.list_event_buses().get("EventBuses", [])}
    for name in event_bus_names(stage):
        if name not in existing:
            client.create_event_bus(Name=name)
    return event_bus_names(stage)
