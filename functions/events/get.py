"""GET /events/{eventId}"""

from aws_lambda_powertools.logging import correlation_paths

from shared.api import EventIdPath, build_app
from shared.managers import events
from shared.observability import logger, traced

app = build_app()


@app.get("/events/<eventId>")
def get_event(eventId: EventIdPath):
    return events.default().get(eventId).to_dict()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
