"""POST /events"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import build_app, created
from shared.idempotency import idempotent
from shared.managers import events
from shared.models.requests import EventCreate
from shared.observability import api_handler, logger, metrics

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:PutItem": {"EventsTable", "IdempotencyTable"},
    "dynamodb:GetItem": {"IdempotencyTable"},
    "dynamodb:UpdateItem": {"IdempotencyTable"},
    "dynamodb:DeleteItem": {"IdempotencyTable"},
}

app = build_app()


@app.post("/events", middlewares=[auth.organizers_only])
@idempotent(app)
def create_event(request: Annotated[EventCreate, Body()]):
    event = events.default().create(request, owner_id=auth.caller_id(app))
    metrics.add_metric(name="EventCreated", unit=MetricUnit.Count, value=1)
    logger.info("event created", extra={"eventId": event.eventId})
    return created(event.to_dict())


lambda_handler = api_handler(app)
