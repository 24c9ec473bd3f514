"""GET /users/{userId}"""

from aws_lambda_powertools.logging import correlation_paths

from shared import auth
from shared.api import UserIdPath, build_app
from shared.managers import users
from shared.observability import logger, traced

app = build_app()


@app.get("/users/<userId>", middlewares=[auth.self_or_admin_in_path])
def get_user(userId: UserIdPath):
    return users.default().get(userId).to_dict()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
