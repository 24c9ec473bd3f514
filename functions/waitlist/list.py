"""GET /events/{eventId}/waitlist"""

from shared import auth
from shared.api import EventIdPath, Limit, NextToken, build_app, decode_token, page
from shared.managers import waitlist
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "ssm:GetParameter": {"PaginationSecret"},
    "dynamodb:Query": {"WaitlistTable"},
    "dynamodb:BatchGetItem": {"EventsTable", "UsersTable", "WaitlistTable"},
}

app = build_app()


@app.get("/events/<eventId>/waitlist")
def list_event_waitlist(eventId: EventIdPath, limit: Limit = 100, nextToken: NextToken = None):
    scope = f"events/{eventId}/waitlist"
    owner = auth.owner_condition(auth.caller_of(app))
    result = waitlist.default().list_for_event(eventId, limit, decode_token(scope, nextToken), owner)
    return page(result.items, scope, result.cursor)


lambda_handler = api_handler(app)
