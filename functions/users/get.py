"""GET /users/{userId}"""

from shared import auth
from shared.api import UserIdPath, build_app
from shared.managers import users
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS = {
    "dynamodb:GetItem": {"UsersTable"},
}

app = build_app()


@app.get("/users/<userId>", middlewares=[auth.self_or_admin_in_path])
def get_user(userId: UserIdPath):
    return users.default().get(userId).to_dict()


lambda_handler = api_handler(app)
