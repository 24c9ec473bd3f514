"""GET /users/{userId}/waitlist"""

from aws_lambda_powertools.logging import correlation_paths

from shared import auth
from shared.api import Limit, NextToken, UserIdPath, build_app, decode_token, page
from shared.managers import waitlist
from shared.observability import logger, traced

app = build_app()


@app.get("/users/<userId>/waitlist", middlewares=[auth.self_or_admin_in_path])
def list_user_waitlist(userId: UserIdPath, limit: Limit = 100, nextToken: NextToken = None):
    scope = f"users/{userId}/waitlist"
    result = waitlist.default().list_for_user(userId, limit, decode_token(scope, nextToken))
    return page(result.items, scope, result.cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
def lambda_handler(event, context):
    return app.resolve(event, context)
