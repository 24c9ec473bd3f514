"""Every function's lambda_handler wears the same decorator stack, built in one place
(shared.observability.observed / api_handler): logger context, metrics flush, tracing when on. A
read route once dropped `log_metrics`, so a metric added there would never have been published."""

from __future__ import annotations

import importlib
import io
import json
from contextlib import redirect_stdout

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from local.config import load
from shared.api import build_app
from shared.observability import OBSERVED, api_handler, metrics
from tests.builders import LambdaContext, api_event

MODULES = sorted({spec["handler"].rsplit(".", 1)[0].replace("/", ".") for spec in load()["functions"].values()})
HTTP_MODULES = sorted(
    {
        spec["handler"].rsplit(".", 1)[0].replace("/", ".")
        for spec in load()["functions"].values()
        if any("http" in event for event in spec.get("events", []))
    }
)


@pytest.mark.parametrize("module", MODULES)
def test_every_handler_goes_through_the_shared_stack(module: str) -> None:
    handler = importlib.import_module(module).lambda_handler
    assert getattr(handler, OBSERVED, False), f"{module}.lambda_handler must come from shared.observability"


@pytest.mark.parametrize("module", HTTP_MODULES)
def test_every_api_handler_is_built_from_its_resolver(module: str) -> None:
    loaded = importlib.import_module(module)
    # api_handler's inner function resolves the module's own app (a closure over it).
    inner = loaded.lambda_handler
    while hasattr(inner, "__wrapped__"):
        inner = inner.__wrapped__
    assert inner.__qualname__ == "api_handler.<locals>.lambda_handler"
    assert inner.__closure__ is not None
    assert loaded.app in [cell.cell_contents for cell in inner.__closure__]


def test_a_metric_added_by_a_read_route_is_published() -> None:
    # Given a GET route that counts something
    app = build_app()

    @app.get("/probe")
    def probe():
        metrics.add_metric(name="ProbeRead", unit=MetricUnit.Count, value=1)
        return {"ok": True}

    handler = api_handler(app)
    # When it is called
    out = io.StringIO()
    with redirect_stdout(out):
        response = handler(api_event("GET", "/probe"), LambdaContext())
    # Then it answers, and the metric is flushed as EMF on the way out
    assert response["statusCode"] == 200
    emitted = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert any("ProbeRead" in line for line in emitted), out.getvalue()
