"""Logger and metrics, created once per process. Tracing is imported only when switched on:
the X-Ray SDK alone costs ~170 ms of cold start."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "event-registrations"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "EventRegistrations"))
