"""DELETE /events/{eventId}"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import EventIdPath, build_app
from shared.managers import events
from shared.observability import logger, metrics, traced

app = build_app()


@app.delete("/events/<eventId>")
def delete_event(eventId: EventIdPath):
    events.default().delete(eventId, owner=auth.owner_condition(auth.caller_of(app)))
    metrics.add_metric(name="EventDeleted", unit=MetricUnit.Count, value=1)
    logger.info("event deleted", extra={"eventId": eventId})
    return {"message": f"Event {eventId} deleted"}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
