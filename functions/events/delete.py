"""DELETE /events/{eventId}"""

from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import EventIdPath, build_app
from shared.managers import events
from shared.observability import api_handler, logger, metrics

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:UpdateItem": {"EventsTable"},
    "dynamodb:DeleteItem": {"EventsTable", "RegistrationsTable", "WaitlistTable"},
    "dynamodb:Query": {"RegistrationsTable"},
}

app = build_app()


@app.delete("/events/<eventId>")
def delete_event(eventId: EventIdPath):
    events.default().delete(eventId, owner=auth.owner_condition(auth.caller_of(app)))
    metrics.add_metric(name="EventDeleted", unit=MetricUnit.Count, value=1)
    logger.info("event deleted", extra={"eventId": eventId})
    return {"message": f"Event {eventId} deleted"}


lambda_handler = api_handler(app)
