"""GET /health"""

from shared.api import build_app
from shared.observability import api_handler

app = build_app()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "healthy"}


lambda_handler = api_handler(app)
