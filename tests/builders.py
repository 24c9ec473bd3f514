"""Builders for API Gateway REST proxy events, Lambda contexts and an in-process API client that
routes a request to the handler serverless.yml maps it to."""

from __future__ import annotations

import importlib
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local import config


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def api_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    parts = urlsplit(path)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = dict(pairs) or None  # as API Gateway does: the last value of a repeated parameter
    multi_query: dict[str, list[str]] = {}
    for key, value in pairs:
        multi_query.setdefault(key, []).append(value)
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    all_headers = (
        {"Content-Type": "application/json", **(headers or {})} if raw_body is not None else dict(headers or {})
    )
    return {
        "resource": resource or parts.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "dev",
            "httpMethod": method,
            "path": parts.path,
            "resourcePath": resource or parts.path,
            "identity": {"sourceIp": "127.0.0.1"},
            **({"authorizer": {"claims": claims}} if claims is not None else {}),
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str]
    text: str = ""  # the body exactly as sent


def _routes() -> list[tuple[re.Pattern[str], str, str, list[str], str, bool]]:
    """(path regex, method, handler module, path parameter names, resource, has an authorizer)."""
    routes = []
    for function in config.load()["functions"].values():
        module = function["handler"].rsplit(".", 1)[0].replace("/", ".")
        for event in function.get("events", []):
            http = event.get("http")
            if not http:
                continue
            path = "/" + http["path"].strip("/")
            names = re.findall(r"\{(\w+)\+?\}", path)
            regex = re.sub(r"\\\{\w+\\\+\\\}", "(.+)", re.escape(path))
            regex = re.sub(r"\\\{\w+\\\}", "([^/]+)", regex)
            routes.append((re.compile(f"^{regex}$"), http["method"].upper(), module, names, path, "authorizer" in http))
    # Like API Gateway: exact methods before ANY, specific paths before the greedy proxy.
    return sorted(routes, key=lambda r: (r[1] == "ANY", "(.+)" in r[0].pattern))


def gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Verified claims as API Gateway's Cognito authorizer hands them to a function: every value a
    string, groups comma-separated."""
    return {key: ",".join(value) if isinstance(value, list) else str(value) for key, value in claims.items()}


class ApiClient:
    """Calls each route's own lambda_handler in-process, as API Gateway would. With `auth_keys`
    (a local/auth.py key directory) it also plays the gateway's Cognito authorizer on the routes
    serverless.yml protects: a missing or invalid token is a 401 that never reaches the function,
    a valid one becomes requestContext.authorizer.claims."""

    def __init__(self, auth_keys: Path | None = None) -> None:
        self._routes = _routes()
        self._auth_keys = auth_keys

    def _match(self, method: str, path: str) -> tuple[str, dict[str, str], str, bool]:
        for regex, route_method, module, names, resource, protected in self._routes:
            match = regex.match(path)
            if match and route_method in (method, "ANY"):
                return module, dict(zip(names, match.groups(), strict=True)), resource, protected
        raise AssertionError(f"serverless.yml routes nothing for {method} {path}")

    def handler_for(self, method: str, path: str) -> tuple[str, dict[str, str], str]:
        """(handler module, path parameters, resource) of the route serverless.yml gives the request."""
        module, params, resource, _ = self._match(method, path)
        return module, params, resource

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        module_name, params, resource, protected = self._match(method, urlsplit(path).path)
        kwargs.setdefault("resource", resource)
        if self._auth_keys is not None and protected:
            from local.auth import InvalidToken, verify

            headers = {key.lower(): value for key, value in (kwargs.get("headers") or {}).items()}
            try:
                kwargs["claims"] = gateway_claims(verify(headers.get("authorization"), self._auth_keys))
            except InvalidToken:
                return ApiResponse(401, {"detail": "Unauthorized"}, {"www-authenticate": "Bearer"})
        event = api_event(method, path, body, path_parameters=params or None, **kwargs)
        module = importlib.import_module(module_name)
        result = module.lambda_handler(event, LambdaContext())
        headers = {key.lower(): value for key, value in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers.setdefault(key.lower(), ", ".join(values))
        text = result.get("body") or ""
        return ApiResponse(result["statusCode"], _json_or_none(text), headers, text)

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)


def _json_or_none(text: str) -> Any:
    """The parsed body; None when empty or not JSON (the Swagger UI page and its assets)."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def stream_records(client: Any, streams: Any, table: str) -> list[dict[str, Any]]:
    """Every record of a table's stream so far, shaped as Lambda delivers them."""
    stream_arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator)
            if not response["Records"]:
                break
            records.extend({**record, "eventSourceARN": stream_arn} for record in response["Records"])
            iterator = response.get("NextShardIterator")
    return records


def matches_filter(record: dict[str, Any], pattern: dict[str, Any]) -> bool:
    """Lambda event filtering, for the subset of the syntax serverless.yml uses (exact values and
    `anything-but`)."""
    for key, expected in pattern.items():
        if key not in record:
            return False
        if isinstance(expected, dict):
            if not isinstance(record[key], dict) or not matches_filter(record[key], expected):
                return False
        elif not any(_matches_value(record[key], rule) for rule in expected):
            return False
    return True


def _matches_value(found: Any, rule: Any) -> bool:
    if isinstance(rule, dict):
        [(operator, operand)] = rule.items()
        if operator != "anything-but":
            raise NotImplementedError(f"filter operator {operator}")
        return found not in (operand if isinstance(operand, list) else [operand])
    return bool(found == rule)
