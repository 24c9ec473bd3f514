"""GET /docs in a real browser: headless Chromium loads Swagger UI from the local stack (its script
and stylesheet from the stack too: the closed network here would refuse a CDN), waits for it to
render, and every operation of openapi.json is listed on the page."""

from __future__ import annotations

import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

from local.browser import rendered_dom, screenshot
from tests.integration.stack import LocalStack

pytestmark = pytest.mark.integration

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


class Operations(HTMLParser):
    """(METHOD, path, element id) of every operation block Swagger UI rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self._block_id = ""
        self._method: str | None = None
        self._in_method = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if "opblock" in classes:
            self._block_id = attributes.get("id") or ""
        self._in_method = "opblock-summary-method" in classes
        if "opblock-summary-path" in classes and self._method:
            self.found.append((self._method, attributes.get("data-path") or "", self._block_id))
            self._method = None

    def handle_data(self, data: str) -> None:
        if self._in_method:
            self._method = data.strip()
            self._in_method = False


def rendered_operations(html: str) -> list[tuple[str, str, str]]:
    parser = Operations()
    parser.feed(html)
    return parser.found


def test_swagger_ui_lists_every_operation(api: LocalStack) -> None:
    document = api.get("/openapi.json").json()
    expected = {
        (method.upper(), path, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    assert len(expected) >= 14

    # When Chromium loads /docs and lets its scripts run
    html = rendered_dom(api.url("/docs"))

    # Then every operation of the document is on the page, once
    operations = rendered_operations(html)
    assert len(operations) == len(expected), html[-2000:]
    assert {(method, path) for method, path, _ in operations} == {(method, path) for method, path, _ in expected}
    for method, path, block_id in operations:
        operation_id = next(op for m, p, op in expected if (m, p) == (method, path))
        assert block_id.endswith(f"-{operation_id}"), (method, path, block_id)
    assert "Event registrations API" in html


def test_swagger_ui_screenshot(api: LocalStack, tmp_path: Path) -> None:
    # The picture docs/swagger-ui.png is taken with (`python -m local.browser screenshot …`).
    png = screenshot(api.url("/docs"), tmp_path / "swagger-ui.png", width=1280, height=1500)

    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 1500)
    # A page that failed to render is nearly all white and compresses to a few KB.
    assert len(data) > 50_000
