"""POST /users"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from shared import auth
from shared.api import build_app, created
from shared.idempotency import idempotent
from shared.managers import users
from shared.models.requests import UserCreate
from shared.observability import logger, metrics, traced

app = build_app()


@app.post("/users", middlewares=[auth.self_in_body])
@idempotent(app)
def create_user(request: Annotated[UserCreate, Body()]):
    user = users.default().create(request, user_id=auth.acting_as(auth.caller_of(app), request.userId))
    metrics.add_metric(name="UserCreated", unit=MetricUnit.Count, value=1)
    logger.info("user created", extra={"userId": user.userId})
    return created(user.to_dict())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
