"""Every request no other function serves: 404 for an unknown path, 405 for a wrong method."""

from shared.api import build_app
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS: dict[str, set[str]] = {}

app = build_app()


lambda_handler = api_handler(app)
