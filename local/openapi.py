"""Prints the OpenAPI document of the whole API: the schemas of every function's resolver, merged
by Powertools. `make openapi` writes it to openapi.json, which GET /openapi.json serves.

Runs offline: function modules create their boto3 clients lazily, so importing them needs no AWS.

Powertools' own discovery (`configure_openapi_merge(path=…, pattern=…)`) finds a resolver by
parsing each file for `app = APIGatewayRestResolver(…)`; our modules build theirs with
`app = build_app()`, which it cannot see. So the files come from serverless.yml, which is also the
list of what is deployed, and go to the same `OpenAPIMerge` that `configure_openapi_merge` uses."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TITLE = "Event registrations API"
DESCRIPTION = (
    "Events with a capacity, users, registrations and a FIFO waitlist. Errors are "
    '`{"detail": "…"}` with status 400, 401, 403, 404, 405, 409, 413, 429, 500 or 503, whoever answers '
    "(the function, or the gateway in front of it). A request valid against this document gets no "
    "400, except a nextToken that this list did not issue. "
    "List endpoints return a JSON array; when another page exists the `X-Next-Token` "
    "response header carries the `nextToken` of the next request. "
    "Links on the 201 answers say which ids feed which operations: create an event, create users, "
    "register them, list, unregister, watch the waitlist move."
)
# Paths that serve no operation of their own: the document, its Swagger UI, the 404/405 catch-all.
UNDOCUMENTED_PATHS = frozenset(
    {"/", "/{proxy+}", "/openapi.json", "/docs", "/docs/swagger-ui.js", "/docs/swagger-ui.css"}
)


def api_version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def documented_modules() -> list[str]:
    """`functions.x.y` of every function behind an API route, in serverless.yml order."""
    from local.config import load

    modules = []
    for function in load()["functions"].values():
        paths = {event["http"]["path"] for event in function.get("events", []) if "http" in event}
        if paths and not paths <= UNDOCUMENTED_PATHS:
            modules.append(function["handler"].rsplit(".", 1)[0].replace("/", "."))
    return modules


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "What went wrong, for a person to read"}},
    "required": ["detail"],
    "additionalProperties": False,
    "title": "Error",
}
# Powertools' own validation answers, which shared.api.build_app replaces with 400 {"detail"}.
_POWERTOOLS_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")

# Headers in components/headers, referenced from the responses that carry them.
_CORS = ("Access-Control-Allow-Origin", "Access-Control-Expose-Headers")


def _headers() -> dict[str, Any]:
    from shared.api import NEXT_TOKEN_HEADER
    from shared.api.pagination import TOKEN_PATTERN
    from shared.idempotency import REPLAYED_HEADER

    return {
        NEXT_TOKEN_HEADER: {
            "description": "Present when another page exists: pass it as nextToken to the same list",
            "schema": {"type": "string", "pattern": TOKEN_PATTERN},
        },
        REPLAYED_HEADER: {
            "description": "This is the stored answer to an earlier request with the same Idempotency-Key",
            "schema": {"type": "string", "enum": ["true"]},
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
        "Access-Control-Allow-Origin": {
            "description": "CORS: on every response to a request that carries an Origin header",
            "schema": {"type": "string", "enum": ["*"]},
        },
        "Access-Control-Expose-Headers": {
            "description": "CORS: the response headers a browser may read",
            "schema": {"type": "string"},
        },
    }


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _bad_request(operation: dict[str, Any]) -> str:
    """What a 400 means here, including the one a request valid against the schema can still get."""
    reasons = ["A parameter or body field breaks its schema (the message names it)"]
    if "requestBody" in operation:
        reasons.append("the body is not JSON, not an object, or not sent as application/json")
    if any(parameter["name"] == "nextToken" for parameter in operation.get("parameters", [])):
        reasons.append(
            "nextToken was not issued by this list: tokens are signed and bound to their list, so one of "
            "the right shape can still be refused (the only 400 a schema-valid request can get)"
        )
    return "; ".join(reasons)


# Statuses every operation may answer besides its own, each with the test of whether it applies.
# (Authentication adds 401 and 403 here.)
SHARED_ERRORS: dict[int, tuple[Any, str]] = {
    400: (lambda op, path: bool(op.get("parameters") or "requestBody" in op), ""),
    413: (lambda op, path: "requestBody" in op, "Request body over the size limit (64 KiB by default)"),
    429: (
        lambda op, path: True,
        "Too many requests: throttled by API Gateway (deployed stages), or more at once than DynamoDB "
        "sustains for this resource (throttling, a hot event's contended transactions); nothing was done: "
        "retry after Retry-After seconds",
    ),
    500: (lambda op, path: True, "Internal server error"),
    503: (
        lambda op, path: path != "/health",
        "DynamoDB failed or could not be reached; nothing was done: retry after Retry-After seconds",
    ),
}


IDEMPOTENCY_PARAMETER = "IdempotencyKey"
_KEY_RULE = "1-200 printable ASCII characters, no space at either end; another value is a 400"
_KEY_BEHAVIOUR = (
    "a retry with the same key and body within an hour returns the first answer again (a 2xx or a 4xx "
    "outcome of the rules, marked `Idempotent-Replayed: true`), whatever happened since; the same key "
    "with another body is a 409; with authentication on, keys are scoped to the caller."
)


def describe_shared_behaviour(document: dict[str, Any]) -> dict[str, Any]:
    """Adds what shared.api.build_app does for every route, which no route decorator states:
    request-validation failures are 400 `{"detail"}` (Powertools documents 422), bodies over the
    limit are 413, throttling or DynamoDB busy 429 and DynamoDB failing 503 (both with Retry-After),
    unexpected failures 500, a
    list with more pages sets X-Next-Token, CORS headers on every answer, and the
    `Idempotency-Key` header of the POST routes. Route-specific answers (201, 404, 409, response
    bodies, links) belong to local.openapi_responses."""
    from local.openapi_responses import describe_routes, idempotent_operations
    from local.openapi_responses import schemas as route_schemas
    from shared.api import NEXT_TOKEN_HEADER
    from shared.idempotency import HEADER, KEY_PATTERN, REPLAYED_HEADER

    describe_routes(document, _error)
    idempotent = idempotent_operations()
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            if (method, path) in idempotent:
                # Described, not listed under `parameters`: a generator of requests (a fuzzer's
                # stateful phase) would send the same simple key and body in unrelated scenarios,
                # get the first answer replayed as the contract says (even for a registration
                # cancelled since) and report the replayed resource as missing. Clients read the
                # rule here and in components.parameters.IdempotencyKey.
                operation["description"] = (
                    f"Optional `{HEADER}` request header ({_KEY_RULE}): {_KEY_BEHAVIOUR} "
                    f"See components.parameters.{IDEMPOTENCY_PARAMETER}."
                )
                operation["x-idempotency-key"] = {"$ref": f"#/components/parameters/{IDEMPOTENCY_PARAMETER}"}
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                _drop_null(parameter)
            responses = {int(code): response for code, response in operation["responses"].items()}
            responses.pop(422, None)
            for code, (applies, description) in SHARED_ERRORS.items():
                if applies(operation, path):
                    responses.setdefault(code, _error(description or _bad_request(operation)))
            for code, response in responses.items():
                headers = response.setdefault("headers", {})
                if 200 <= code < 300 and any(p["name"] == "nextToken" for p in parameters):
                    headers.update(_header_refs(NEXT_TOKEN_HEADER))
                if 200 <= code < 300 and (method, path) in idempotent:
                    headers.update(_header_refs(REPLAYED_HEADER))
                if code in (429, 503):
                    headers.update(_header_refs("Retry-After"))
                headers.update(_header_refs(*_CORS))
            operation["responses"] = dict(sorted(responses.items()))
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _POWERTOOLS_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas.setdefault("Error", ERROR_SCHEMA)
    for name, schema in route_schemas().items():
        schemas.setdefault(name, schema)
    components["headers"] = _headers()
    components["parameters"] = {
        IDEMPOTENCY_PARAMETER: {
            "name": HEADER,
            "in": "header",
            "required": False,
            "description": f"{_KEY_RULE}. {_KEY_BEHAVIOUR[:1].upper()}{_KEY_BEHAVIOUR[1:]}",
            "schema": {"type": "string", "pattern": KEY_PATTERN},
        }
    }
    return document


def _drop_null(parameter: dict[str, Any]) -> None:
    """An optional query parameter is absent, never null: Powertools renders `str | None` as a
    union with null, which a client or fuzzer would send as the text `null`."""
    schema = parameter.get("schema", {})
    choices = [choice for choice in schema.get("anyOf", []) if choice != {"type": "null"}]
    if "anyOf" in schema and len(choices) == 1:
        del schema["anyOf"]
        schema.update(choices[0])


def merged_document() -> str:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from local.config import FAKE_AWS

    for key, value in {**FAKE_AWS, "POWERTOOLS_LOG_LEVEL": "WARNING"}.items():
        os.environ.setdefault(key, value)

    from aws_lambda_powertools.event_handler.openapi import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

    merge = OpenAPIMerge(title=TITLE, version=api_version(), description=DESCRIPTION, on_conflict="error")
    # Same discovery configure_openapi_merge runs: picks up any module that builds its resolver inline.
    merge.discover(path=ROOT / "functions", pattern="*.py", recursive=True, resolver_name="app", project_root=ROOT)
    for module in documented_modules():
        # Imported under its real name, so the merge reuses it rather than loading a second copy.
        importlib.import_module(module)
        merge.add_file(ROOT / (module.replace(".", "/") + ".py"))
    from local.openapi_security import describe_security

    # Security first: the shared pass then gives its 401/403 answers the same headers as every other.
    document = describe_shared_behaviour(describe_security(merge.get_openapi_schema(), _error))
    validated = OpenAPI(**document).model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps(as_openapi_30(_integral_bounds(validated)), indent=2, ensure_ascii=False)


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """The document in OpenAPI 3.0, whose schema dialect (JSON Schema Wright draft 00) defines an
    integer as a JSON number without a fraction or exponent: the API's rule (`5.0` is a 400). In
    3.1's dialect (JSON Schema 2020-12) `5.0` is an integer, so a client or fuzzer reading a 3.1
    document may send it. Powertools writes 3.1; what differs in this document is `nullable` for a
    union with null, `enum` for `const`, one `example` for a schema's `examples`, and the version."""
    return {**_schemas_30(document), "openapi": "3.0.3"}


def _schemas_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_schemas_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _schemas_30(value) for key, value in node.items()}
    choices = result.get("anyOf")
    if isinstance(choices, list) and {"type": "null"} in choices:
        others = [choice for choice in choices if choice != {"type": "null"}]
        if len(others) == 1 and "$ref" not in others[0]:
            del result["anyOf"]
            result = {**others[0], **result, "nullable": True}
    if "const" in result:
        result["enum"] = [result.pop("const")]
    if isinstance(result.get("examples"), list) and "properties" in result:
        result["example"] = result.pop("examples")[0]
    return result


def _integral_bounds(node: Any) -> Any:
    """Powertools' models hold bounds as floats (`"minimum": 1.0`); on an integer schema that
    invites fuzzers and generators to send `1.0`, which the API refuses (no coercion)."""
    if isinstance(node, list):
        return [_integral_bounds(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _integral_bounds(value) for key, value in node.items()}
    if result.get("type") == "integer":
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "default"):
            if isinstance(result.get(key), float) and result[key].is_integer():
                result[key] = int(result[key])
    return result


def main() -> None:
    sys.stdout.write(merged_document() + "\n")


if __name__ == "__main__":
    main()
