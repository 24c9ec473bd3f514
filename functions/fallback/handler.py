"""Every request no other function serves: 404 for an unknown path, 405 for a wrong method."""

from shared.api import build_app
from shared.observability import api_handler

app = build_app()


lambda_handler = api_handler(app)
