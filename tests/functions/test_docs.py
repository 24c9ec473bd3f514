"""GET /docs: Swagger UI over openapi.json from Powertools' bundled assets, in-process through the
handler serverless.yml routes it to. (tests/integration/test_docs_browser.py renders it in Chromium.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.openapi import swagger_ui

from functions.docs import swagger
from tests.builders import ApiClient, LambdaContext, api_event

ROOT = Path(__file__).resolve().parents[2]
ASSETS = Path(swagger_ui.__file__).parent


def call(path: str, *, stage_path: str | None = None, method: str = "GET") -> dict[str, Any]:
    event = api_event(method, path)
    if stage_path is not None:
        # As API Gateway sends it for https://…/dev/docs: the stage in requestContext.path only.
        event["requestContext"]["path"] = stage_path
    return swagger.lambda_handler(event, LambdaContext())


def embedded_spec(page: str) -> dict[str, Any]:
    found = re.search(r"spec: (\{.*?\}),\n\s*presets", page, re.DOTALL)
    assert found, "no spec in the page"
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_docs_is_served_by_its_own_function() -> None:
    for path in ("/docs", "/docs/swagger-ui.js", "/docs/swagger-ui.css"):
        module, _, _ = ApiClient().handler_for("GET", path)
        assert module == "functions.docs.swagger"


def test_page_links_the_bundled_assets_and_embeds_the_merged_document() -> None:
    response = call("/docs")

    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    page = response["body"]
    assert "<script src='/docs/swagger-ui.js'></script>" in page
    assert "href='/docs/swagger-ui.css'" in page
    assert "cdn" not in page.lower() and "https://" not in page.split("spec:")[0]
    document = json.loads((ROOT / "openapi.json").read_text())
    assert embedded_spec(page) == {**document, "servers": [{"url": "/"}]}


def test_under_the_stage_url_assets_and_try_it_out_keep_the_stage_prefix() -> None:
    page = call("/docs", stage_path="/dev/docs")["body"]

    assert "<script src='/dev/docs/swagger-ui.js'></script>" in page
    assert "href='/dev/docs/swagger-ui.css'" in page
    assert embedded_spec(page)["servers"] == [{"url": "/dev"}]


@pytest.mark.parametrize(
    ("path", "asset", "content_type"),
    [
        ("/docs/swagger-ui.js", "swagger-ui-bundle.min.js", "text/javascript; charset=utf-8"),
        ("/docs/swagger-ui.css", "swagger-ui.min.css", "text/css; charset=utf-8"),
    ],
)
def test_assets_are_powertools_own_files_and_cacheable(path: str, asset: str, content_type: str) -> None:
    response = call(path)

    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"] == [content_type]
    assert response["multiValueHeaders"]["Cache-Control"] == ["public, max-age=86400"]
    assert response["body"] == (ASSETS / asset).read_text(encoding="utf-8")


def test_format_json_answers_the_document_swagger_ui_shows_in_its_top_bar() -> None:
    response = call("/docs?format=json")

    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert json.loads(response["body"])["paths"] == json.loads((ROOT / "openapi.json").read_text())["paths"]


def test_other_formats_are_400_with_detail() -> None:
    response = call("/docs?format=yaml")

    assert response["statusCode"] == 400
    assert set(json.loads(response["body"])) == {"detail"}


@pytest.mark.parametrize("path", ["/docs", "/docs/swagger-ui.js", "/docs/swagger-ui.css"])
def test_other_methods_are_405(path: str) -> None:
    response = ApiClient().request("POST", path)

    assert response.status == 405
    assert set(response.body) == {"detail"}
    assert response.headers["allow"] == "GET, OPTIONS"


def test_unknown_asset_is_404() -> None:
    response = ApiClient().get("/docs/swagger-ui.map")

    assert response.status == 404 and set(response.body) == {"detail"}


def test_cold_start_leaves_out_powertools_openapi_models() -> None:
    # Importing Powertools' swagger_ui package would pull in every OpenAPI model (about as long
    # again as the rest of the import); a fresh interpreter shows what the function's import loads.
    probe = (
        "import sys, functions.docs.swagger; print('aws_lambda_powertools.event_handler.openapi.models' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False", result.stderr
