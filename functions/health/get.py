"""GET /health"""

from shared.api import build_app
from shared.observability import api_handler

# What this function may do in AWS: tests/unit/test_template.py holds its packaged IAM role to exactly this.
GRANTS: dict[str, set[str]] = {}

app = build_app()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "healthy"}


lambda_handler = api_handler(app)
