"""POST /users"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import build_app, created
from shared.idempotency import idempotent
from shared.managers import users
from shared.models.requests import UserCreate
from shared.observability import api_handler, logger, metrics

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:PutItem": {"IdempotencyTable", "UsersTable"},
    "dynamodb:GetItem": {"IdempotencyTable"},
    "dynamodb:UpdateItem": {"IdempotencyTable"},
    "dynamodb:DeleteItem": {"IdempotencyTable"},
}

app = build_app()


@app.post("/users", middlewares=[auth.self_in_body])
@idempotent(app)
def create_user(request: Annotated[UserCreate, Body()]):
    user = users.default().create(request, user_id=auth.acting_as(auth.caller_of(app), request.userId))
    metrics.add_metric(name="UserCreated", unit=MetricUnit.Count, value=1)
    logger.info("user created", extra={"userId": user.userId})
    return created(user.to_dict())


lambda_handler = api_handler(app)
