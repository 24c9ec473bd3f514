"""GET /events"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from shared.api import Limit, NextToken, build_app, decode_token, page
from shared.managers import events
from shared.models.fields import EventStatus
from shared.observability import logger, traced

app = build_app()


@app.get("/events")
def list_events(
    limit: Limit = 100,
    nextToken: NextToken = None,
    status: Annotated[EventStatus | None, Query(description="Only events with this status")] = None,
):
    scope = f"events?status={status}"
    result = events.default().list(limit, decode_token(scope, nextToken), status)
    return page([event.to_dict() for event in result.items], scope, result.cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
