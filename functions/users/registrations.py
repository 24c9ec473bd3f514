"""GET /users/{userId}/registrations"""

from aws_lambda_powertools.logging import correlation_paths

from shared import auth
from shared.api import Limit, NextToken, UserIdPath, build_app, decode_token, page
from shared.managers import registrations
from shared.observability import logger, traced

app = build_app()


@app.get("/users/<userId>/registrations", middlewares=[auth.self_or_admin_in_path])
def list_user_registrations(userId: UserIdPath, limit: Limit = 100, nextToken: NextToken = None):
    scope = f"users/{userId}/registrations"
    result = registrations.default().get_user_registrations(userId, limit, decode_token(scope, nextToken))
    return page(result.items, scope, result.cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
