"""GET /users/{userId}/waitlist"""

from shared import auth
from shared.api import Limit, NextToken, UserIdPath, build_app, decode_token, page
from shared.managers import waitlist
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "ssm:GetParameter": {"PaginationSecret"},
    "dynamodb:Query": {"WaitlistTable", "WaitlistTable/index/UserWaitlistIndex"},
    "dynamodb:BatchGetItem": {"EventsTable", "WaitlistTable"},
    "dynamodb:GetItem": {"UsersTable"},
}

app = build_app()


@app.get("/users/<userId>/waitlist", middlewares=[auth.self_or_admin_in_path])
def list_user_waitlist(userId: UserIdPath, limit: Limit = 100, nextToken: NextToken = None):
    scope = f"users/{userId}/waitlist"
    result = waitlist.default().list_for_user(userId, limit, decode_token(scope, nextToken))
    return page(result.items, scope, result.cursor)


lambda_handler = api_handler(app)
