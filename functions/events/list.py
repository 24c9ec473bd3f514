"""GET /events"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from shared.api import Limit, NextToken, build_app, decode_token, page
from shared.managers import events
from shared.models.fields import EventStatus
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "ssm:GetParameter": {"PaginationSecret"},
    "dynamodb:Scan": {"EventsTable", "EventsTable/index/StatusIndex"},
    "dynamodb:Query": {"EventsTable", "EventsTable/index/StatusIndex"},
}

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


lambda_handler = api_handler(app)
