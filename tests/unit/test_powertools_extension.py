"""shared.api.build_app replaces one private attribute of Powertools' resolver,
`app._request_validation_middleware`, with a subclass of its request validation middleware (a body
must be a JSON object; only application/json is parsed). Powertools offers no public hook for it.
These tests pin the contract that makes the override work, so that an upgrade which renames the
attribute or stops using it fails here, loudly, instead of silently dropping the stricter checks."""

from __future__ import annotations

import inspect
import json
from typing import Annotated

from aws_lambda_powertools.event_handler import api_gateway
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from shared.api import build_app
from tests.builders import LambdaContext, api_event


class _Item(BaseModel):
    name: str


def _app():
    app = build_app()

    @app.post("/items")
    def create(item: Annotated[_Item, Body()]):
        return {"name": item.name}

    return app


def test_powertools_still_reads_the_request_validation_middleware_from_the_resolver() -> None:
    # Route._build_middleware_stack creates the attribute only when missing and uses it when present
    source = inspect.getsource(api_gateway.Route)
    assert 'hasattr(app, "_request_validation_middleware")' in source
    assert "all_middlewares.append(app._request_validation_middleware)" in source


def test_build_app_installs_the_stricter_middleware() -> None:
    middleware = build_app()._request_validation_middleware
    assert isinstance(middleware, OpenAPIRequestValidationMiddleware)
    assert type(middleware) is not OpenAPIRequestValidationMiddleware


def test_the_override_is_what_validates_a_request() -> None:
    app = _app()
    context = LambdaContext()
    # Powertools alone would validate the array's first element as the body
    array = app.resolve(api_event("POST", "/items", raw_body='[{"name": "a"}]'), context)
    form = app.resolve(
        api_event("POST", "/items", raw_body="name=a", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        context,
    )
    valid = app.resolve(api_event("POST", "/items", {"name": "a"}), context)

    assert (array["statusCode"], json.loads(array["body"])) == (400, {"detail": "body: must be a JSON object"})
    assert (form["statusCode"], json.loads(form["body"])) == (
        400,
        {"detail": "body: Content-Type must be application/json"},
    )
    assert (valid["statusCode"], json.loads(valid["body"])) == (200, {"name": "a"})
