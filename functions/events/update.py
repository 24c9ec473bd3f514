"""PUT /events/{eventId}"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import EventIdPath, build_app
from shared.managers import events
from shared.models.requests import EventUpdate
from shared.observability import api_handler, logger, metrics

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:UpdateItem": {"EventsTable"},
}

app = build_app()


@app.put("/events/<eventId>")
def update_event(eventId: EventIdPath, request: Annotated[EventUpdate, Body()]):
    event = events.default().update(eventId, request, owner=auth.owner_condition(auth.caller_of(app)))
    metrics.add_metric(name="EventUpdated", unit=MetricUnit.Count, value=1)
    logger.info("event updated", extra={"eventId": eventId, "fields": sorted(request.model_fields_set)})
    return event.to_dict()


lambda_handler = api_handler(app)
