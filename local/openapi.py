"""Prints the OpenAPI document of the whole API: the schemas of every function's resolver, merged
by Powertools. `make openapi` writes it to openapi.json, which GET /openapi.json serves.

Runs offline: function modules create their boto3 clients lazily, so importing them needs no AWS.

Powertools' own discovery (`configure_openapi_merge(path=…, pattern=…)`) finds a resolver by
parsing each file for `app = APIGatewayRestResolver(…)`; our modules build theirs with
`app = build_app()`, which it cannot see. So the files come from serverless.yml, which is also the
list of what is deployed, and go to the same `OpenAPIMerge` that `configure_openapi_merge` uses."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TITLE = "Event registrations API"
DESCRIPTION = (
    "Events with a capacity, users, registrations and a FIFO waitlist. Errors are "
    '`{"detail": "…"}` with status 400, 401, 403, 404, 405, 409, 413, 500 or 503. '
    "List endpoints return a JSON array; when another page exists the `X-Next-Token` "
    "response header carries the `nextToken` of the next request."
)
# Paths that serve no operation of their own: the document, its Swagger UI, the 404/405 catch-all.
UNDOCUMENTED_PATHS = frozenset(
    {"/", "/{proxy+}", "/openapi.json", "/docs", "/docs/swagger-ui.js", "/docs/swagger-ui.css"}
)

_OFFLINE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


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
    "title": "Error",
}
# Powertools' own validation answers, which shared.api.build_app replaces with 400 {"detail"}.
_POWERTOOLS_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


_NEXT_TOKEN = {"description": "Present when another page exists: pass it as nextToken", "schema": {"type": "string"}}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def describe_shared_behaviour(document: dict[str, Any]) -> dict[str, Any]:
    """Adds what shared.api.build_app does for every route, which no route decorator states:
    request-validation failures are 400 `{"detail"}` (Powertools documents 422), bodies over the
    limit are 413, unexpected failures 500, and a list with more pages sets X-Next-Token.
    Route-specific answers (201, 404, 409, 503, response bodies) belong to the route decorators."""
    from local.openapi_responses import describe_routes
    from local.openapi_responses import schemas as route_schemas
    from shared.api import NEXT_TOKEN_HEADER

    describe_routes(document, _error)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = {int(code): response for code, response in operation["responses"].items()}
            responses.pop(422, None)
            parameters = {parameter["name"] for parameter in operation.get("parameters", [])}
            if parameters or "requestBody" in operation:
                responses.setdefault(400, _error("Invalid path, query or body"))
            if "requestBody" in operation:
                responses.setdefault(413, _error("Request body too large"))
            responses.setdefault(500, _error("Internal server error"))
            if "nextToken" in parameters and 200 in responses:
                responses[200].setdefault("headers", {}).setdefault(NEXT_TOKEN_HEADER, _NEXT_TOKEN)
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _POWERTOOLS_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas.setdefault("Error", ERROR_SCHEMA)
    for name, schema in route_schemas().items():
        schemas.setdefault(name, schema)
    return document


def merged_document() -> str:
    for key, value in _OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    from aws_lambda_powertools.event_handler.openapi import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

    merge = OpenAPIMerge(title=TITLE, version=api_version(), description=DESCRIPTION, on_conflict="error")
    # Same discovery configure_openapi_merge runs: picks up any module that builds its resolver inline.
    merge.discover(path=ROOT / "functions", pattern="*.py", recursive=True, resolver_name="app", project_root=ROOT)
    for module in documented_modules():
        # Imported under its real name, so the merge reuses it rather than loading a second copy.
        importlib.import_module(module)
        merge.add_file(ROOT / (module.replace(".", "/") + ".py"))
    document = describe_shared_behaviour(merge.get_openapi_schema())
    from local.openapi_security import describe_security

    document = describe_security(document, _error)
    return OpenAPI(**document).model_dump_json(by_alias=True, exclude_none=True, indent=2)


def main() -> None:
    sys.stdout.write(merged_document() + "\n")


if __name__ == "__main__":
    main()
