"""GET /openapi.json: the merged OpenAPI document of every function (written by `make openapi`)."""

from pathlib import Path

from aws_lambda_powertools.event_handler import Response, content_types

from shared.api import build_app
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS: dict[str, set[str]] = {}

app = build_app()
_DOCUMENT = (Path(__file__).resolve().parents[2] / "openapi.json").read_text()


@app.get("/openapi.json", include_in_schema=False)
def openapi_document():
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_DOCUMENT)


lambda_handler = api_handler(app)
