"""GET /events/{eventId}/registrations"""

from shared import auth
from shared.api import EventIdPath, Limit, NextToken, build_app, decode_token, page
from shared.managers import registrations
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "ssm:GetParameter": {"PaginationSecret"},
    "dynamodb:Query": {"RegistrationsTable/index/EventRegistrationsIndex"},
    "dynamodb:BatchGetItem": {"EventsTable", "UsersTable"},
}

app = build_app()


@app.get("/events/<eventId>/registrations")
def list_event_registrations(eventId: EventIdPath, limit: Limit = 100, nextToken: NextToken = None):
    scope = f"events/{eventId}/registrations"
    owner = auth.owner_condition(auth.caller_of(app))
    result = registrations.default().list_for_event(eventId, limit, decode_token(scope, nextToken), owner)
    return page(result.items, scope, result.cursor)


lambda_handler = api_handler(app)
