"""Errors the local gateway produces itself (issue 9, defect 3): hapi and serverless-offline
(content-type parsing, payload limits), and Node's HTTP parser (oversized request line or headers,
malformed requests) answer like the deployed API does — `{"detail": …}` with the right status and
Content-Type: application/json — never in their own shape or as an empty 400."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.integration.stack import LocalStack

pytestmark = pytest.mark.integration

EVENT = {"title": "T", "date": "2026-12-01", "location": "L", "organizer": "O"}


def assert_detail(status: int, content_type: str, text: str, expected: int | set[int]) -> None:
    assert status in (expected if isinstance(expected, set) else {expected}), (status, text[:300])
    assert content_type.startswith("application/json"), (content_type, text[:300])
    body = json.loads(text)
    assert isinstance(body, dict) and set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"]


def raw_exchange(api: LocalStack, request: bytes) -> tuple[int, str, str]:
    """Sends bytes as they are and parses the answer (status, Content-Type, body) by hand."""
    address = urlsplit(api.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=20) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0].split(b":")[1]):
                break
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers.get("content-type", ""), body.decode(errors="replace")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"x"),
        ("multipart/form-data; boundary=", b"--\r\n"),
        ("multipart/form-data; boundary=abc", b"--xyz\r\nContent-Disposition: form-data\r\n\r\nbroken"),
        ("multipart/form-data; boundary=abc", b"--abc\r\nno-header-end"),
        ("application/x-www-form-urlencoded", b"title=T&capacity=%ZZ&&=="),
        ("application/x-www-form-urlencoded; charset=nope", b"a=b"),
        ("text/plain", b"{}"),
    ],
)
@pytest.mark.parametrize("path", ["/events", "/users"])
def test_foreign_and_broken_content_types_answer_detail(
    api: LocalStack, path: str, content_type: str, body: bytes
) -> None:
    response = api.post(path, data=body, headers={"Content-Type": content_type})
    assert_detail(response.status_code, response.headers.get("Content-Type", ""), response.text, {400, 415})


def test_a_body_over_the_gateway_limit_is_413_detail(api: LocalStack) -> None:
    response = api.post(
        "/events", data=b"{" + b" " * (10 * 1024 * 1024 + 1) + b"}", headers={"Content-Type": "application/json"}
    )
    assert_detail(response.status_code, response.headers.get("Content-Type", ""), response.text, 413)


def test_oversized_headers_are_431_detail(api: LocalStack) -> None:
    request = b"GET /events HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    assert_detail(*raw_exchange(api, request), 431)


def test_an_oversized_request_line_is_431_detail(api: LocalStack) -> None:
    request = b"GET /events/" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert_detail(*raw_exchange(api, request), 431)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /events HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /events HTTP/1.1\r\nBad Header Line\r\n\r\n",
        b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_requests_the_http_parser_refuses_answer_detail(api: LocalStack, request_bytes: bytes) -> None:
    assert_detail(*raw_exchange(api, request_bytes), 400)


def test_a_request_target_that_is_not_a_path_is_400_detail(api: LocalStack) -> None:
    assert_detail(*raw_exchange(api, b"GET http://evil.example/events/%2E%2E HTTP/1.1\r\nHost: x\r\n\r\n"), 400)


def test_invalid_compressed_body_is_400_detail(api: LocalStack) -> None:
    response = api.post(
        "/users", data=b"not gzip", headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    assert_detail(response.status_code, response.headers.get("Content-Type", ""), response.text, {400, 415})


@pytest.mark.parametrize(
    ("target", "status"),
    [(b"/events", 405), (b"/events/e/registrations", 405), (b"/nope", 404), (b"127.0.0.1:443", 400)],
)
def test_connect_is_answered_with_detail(api: LocalStack, target: bytes, status: int) -> None:
    # Node closed the connection without a word: its server has no CONNECT handler unless one is added.
    request = b"CONNECT " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert_detail(*raw_exchange(api, request), status)
