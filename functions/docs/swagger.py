"""GET /docs: Swagger UI over the merged OpenAPI document (openapi.json), with the Swagger UI
script and stylesheet that Powertools ships in its package: no CDN, works offline.

The page links the two assets (GET /docs/swagger-ui.js and /docs/swagger-ui.css, 1.7 MB together)
rather than inlining them as Powertools' `enable_swagger` does, so a browser caches them. Nothing is
read at import (a cold start costs only the resolver); each file is read once, on first use."""

import importlib.util
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import aws_lambda_powertools
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query

from shared.api import build_app
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS: dict[str, set[str]] = {}

app = build_app()
_ASSETS = Path(aws_lambda_powertools.__file__).parent / "event_handler" / "openapi" / "swagger_ui"
_DOCUMENT = Path(__file__).resolve().parents[2] / "openapi.json"
_CACHED = "public, max-age=86400"
SCRIPT, STYLESHEET = "/docs/swagger-ui.js", "/docs/swagger-ui.css"


def _load_page_template():
    """Powertools' `swagger_ui/html.py`, loaded by its path: importing it as a submodule would run
    the package's `__init__`, whose OAuth2Config imports all of Powertools' OpenAPI models, which
    doubled this function's import time (tests/functions/test_docs.py keeps them out)."""
    spec = importlib.util.spec_from_file_location("_powertools_swagger_html", _ASSETS / "html.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"Powertools' Swagger UI is not at {_ASSETS}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_swagger_html


generate_swagger_html = _load_page_template()


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def _document(base_path: str) -> str:
    """openapi.json with the server "Try it out" calls: where the page was loaded from, stage
    prefix included (the document itself says "/", which misses the stage on API Gateway's URL)."""
    import json

    document = json.loads(_read(_DOCUMENT))
    document["servers"] = [{"url": base_path or "/"}]
    return json.dumps(document)


def _base_path() -> str:
    """`/dev` when the browser reached the API through its stage URL, empty on a custom domain or
    locally: the same test Powertools' own Swagger route makes."""
    context = app.current_event.request_context
    stage = context.stage
    return f"/{stage}" if stage and stage != "$default" and context.path.startswith(f"/{stage}/") else ""


@app.get("/docs", include_in_schema=False)
def swagger_page(format: Annotated[Literal["json"] | None, Query()] = None):
    base_path = _base_path()
    document = _document(base_path)
    if format == "json":
        # The address Swagger UI shows in its top bar answers the document itself.
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=document)
    page = generate_swagger_html(
        spec=document.replace("</", "<\\/"),  # never closes the page's <script>
        swagger_js=base_path + SCRIPT,
        swagger_css=base_path + STYLESHEET,
        swagger_base_url=base_path + "/docs",  # set: link the assets, not inline them
        oauth2_config=None,
    )
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=page)


def _asset(name: str, content_type: str) -> Response:
    return Response(
        status_code=200, content_type=content_type, body=_read(_ASSETS / name), headers={"Cache-Control": _CACHED}
    )


@app.get(SCRIPT, include_in_schema=False)
def swagger_script():
    return _asset("swagger-ui-bundle.min.js", "text/javascript; charset=utf-8")


@app.get(STYLESHEET, include_in_schema=False)
def swagger_stylesheet():
    return _asset("swagger-ui.min.css", "text/css; charset=utf-8")


lambda_handler = api_handler(app)
