"""PUT /events/{eventId}"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import EventIdPath, build_app
from shared.managers import events
from shared.models.requests import EventUpdate
from shared.observability import logger, metrics, traced

app = build_app()


@app.put("/events/<eventId>")
def update_event(eventId: EventIdPath, request: Annotated[EventUpdate, Body()]):
    event = events.default().update(eventId, request, owner=auth.owner_condition(auth.caller_of(app)))
    metrics.add_metric(name="EventUpdated", unit=MetricUnit.Count, value=1)
    logger.info("event updated", extra={"eventId": eventId, "fields": sorted(request.model_fields_set)})
    return event.to_dict()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
