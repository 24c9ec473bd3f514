"""GET /events/{eventId}"""

from shared.api import EventIdPath, build_app
from shared.managers import events
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:GetItem": {"EventsTable"},
}

app = build_app()


@app.get("/events/<eventId>")
def get_event(eventId: EventIdPath):
    return events.default().get(eventId).to_dict()


lambda_handler = api_handler(app)
