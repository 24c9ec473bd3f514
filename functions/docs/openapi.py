"""GET /openapi.json: the merged OpenAPI document of every function (written by `make openapi`)."""

from pathlib import Path

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths

from shared.api import build_app
from shared.observability import logger, traced

app = build_app()
_DOCUMENT = (Path(__file__).resolve().parents[2] / "openapi.json").read_text()


@app.get("/openapi.json", include_in_schema=False)
def openapi_document():
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_DOCUMENT)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
