"""DELETE /events/{eventId}/registrations/{userId}"""

from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import EventIdPath, UserIdPath, build_app
from shared.managers import registrations
from shared.observability import api_handler, logger, metrics

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:UpdateItem": {"EventsTable", "WaitlistTable"},
    "dynamodb:DeleteItem": {"RegistrationsTable", "WaitlistTable"},
}

app = build_app()


@app.delete("/events/<eventId>/registrations/<userId>")
def unregister(eventId: EventIdPath, userId: UserIdPath):
    owner = auth.unregister_condition(auth.caller_of(app), userId)
    was = registrations.default().unregister_user(eventId, userId, owner)
    metrics.add_metric(name="Unregistered", unit=MetricUnit.Count, value=1)
    logger.info("Unregistered", extra={"eventId": eventId, "userId": userId, "was": was})
    what = "registration" if was == "confirmed" else "waitlist entry"
    return {"message": f"User {userId}'s {what} for event {eventId} was removed"}


lambda_handler = api_handler(app)
