"""DELETE /events/{eventId}/registrations/{userId}"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import EventIdPath, UserIdPath, build_app
from shared.managers import registrations
from shared.observability import logger, metrics, traced

app = build_app()


@app.delete("/events/<eventId>/registrations/<userId>")
def unregister(eventId: EventIdPath, userId: UserIdPath):
    owner = auth.unregister_condition(auth.caller_of(app), userId)
    was = registrations.default().unregister_user(eventId, userId, owner)
    metrics.add_metric(name="Unregistered", unit=MetricUnit.Count, value=1)
    logger.info("Unregistered", extra={"eventId": eventId, "userId": userId, "was": was})
    what = "registration" if was == "confirmed" else "waitlist entry"
    return {"message": f"User {userId}'s {what} for event {eventId} was removed"}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
