"""GET /users/{userId}/registrations"""

from shared import auth
from shared.api import Limit, NextToken, UserIdPath, build_app, decode_token, page
from shared.managers import registrations
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "ssm:GetParameter": {"PaginationSecret"},
    "dynamodb:Query": {"RegistrationsTable/index/UserRegistrationsIndex"},
    "dynamodb:BatchGetItem": {"EventsTable"},
    "dynamodb:GetItem": {"UsersTable"},
}

app = build_app()


@app.get("/users/<userId>/registrations", middlewares=[auth.self_or_admin_in_path])
def list_user_registrations(userId: UserIdPath, limit: Limit = 100, nextToken: NextToken = None):
    scope = f"users/{userId}/registrations"
    result = registrations.default().get_user_registrations(userId, limit, decode_token(scope, nextToken))
    return page(result.items, scope, result.cursor)


lambda_handler = api_handler(app)
