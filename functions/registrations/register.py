"""POST /events/{eventId}/registrations"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import EventIdPath, build_app, created
from shared.errors import InvalidRequestError
from shared.idempotency import idempotent
from shared.managers import registrations
from shared.models.domain import Registration
from shared.models.requests import RegistrationCreate
from shared.observability import api_handler, logger, metrics

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:UpdateItem": {"EventsTable", "IdempotencyTable", "WaitlistTable"},
    "dynamodb:ConditionCheckItem": {"EventsTable", "UsersTable"},
    "dynamodb:PutItem": {"IdempotencyTable", "RegistrationsTable", "WaitlistTable"},
    "dynamodb:GetItem": {"EventsTable", "IdempotencyTable", "WaitlistTable"},
    "dynamodb:DeleteItem": {"IdempotencyTable", "WaitlistTable"},
    "dynamodb:Query": {"WaitlistTable"},
    "dynamodb:BatchGetItem": {"EventsTable", "RegistrationsTable", "UsersTable"},
}

app = build_app()


@app.post("/events/<eventId>/registrations", middlewares=[auth.self_in_body])
@idempotent(app)
def register(eventId: EventIdPath, request: Annotated[RegistrationCreate, Body()]):
    user_id = auth.acting_as(auth.caller_of(app), request.userId)
    if user_id is None:
        raise InvalidRequestError("body.userId: Field required")
    outcome = registrations.default().register_user(eventId, user_id)
    action = "RegistrationConfirmed" if isinstance(outcome, Registration) else "Waitlisted"
    metrics.add_metric(name=action, unit=MetricUnit.Count, value=1)
    logger.info(action, extra={"eventId": eventId, "userId": user_id})
    return created(outcome.to_dict())


lambda_handler = api_handler(app)
