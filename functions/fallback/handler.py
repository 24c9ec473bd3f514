"""Every request no other function serves: 404 for an unknown path, 405 for a wrong method."""

from aws_lambda_powertools.logging import correlation_paths

from shared.api import build_app
from shared.observability import logger, traced

app = build_app()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
