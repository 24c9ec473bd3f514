"""GET /events/{eventId}/waitlist"""

from aws_lambda_powertools.logging import correlation_paths

from shared import auth
from shared.api import EventIdPath, Limit, NextToken, build_app, decode_token, page
from shared.managers import waitlist
from shared.observability import logger, traced

app = build_app()


@app.get("/events/<eventId>/waitlist")
def list_event_waitlist(eventId: EventIdPath, limit: Limit = 100, nextToken: NextToken = None):
    scope = f"events/{eventId}/waitlist"
    owner = auth.owner_condition(auth.caller_of(app))
    result = waitlist.default().list_for_event(eventId, limit, decode_token(scope, nextToken), owner)
    return page(result.items, scope, result.cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
