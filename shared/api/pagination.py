"""Opaque, tamper-evident page tokens: the DynamoDB cursor, signed with HMAC-SHA256 together with
the identity of the list it belongs to, so an edited token or one from another list is a 400."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from shared.config import get_settings
from shared.errors import InvalidRequestError

_INVALID = "nextToken is invalid, expired or belongs to another list"
# The shape of every token encode_token hands out: unpadded base64url of a 16-byte signature and a
# JSON object (at least `{}`). A token of this shape can still be refused: only the signature says
# whether this list issued it.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{24,4096}$"  # noqa: S105 - a pattern, not a secret


def _signature(scope: str, payload: bytes) -> bytes:
    return hmac.new(get_settings().pagination_secret, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]


def encode_token(scope: str, cursor: dict[str, Any]) -> str:
    payload = json.dumps(cursor, separators=(",", ":"), sort_keys=True).encode()
    return _encode(_signature(scope, payload) + payload)


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(scope: str, token: str | None) -> dict[str, Any] | None:
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidRequestError(_INVALID) from None
    # base64 decoding skips foreign characters and ignores the spare bits of the last one: only the
    # one encoding the server hands out is accepted, so no edited token leads anywhere.
    if _encode(raw) != token:
        raise InvalidRequestError(_INVALID)
    signature, payload = raw[:16], raw[16:]
    if len(signature) < 16 or not hmac.compare_digest(signature, _signature(scope, payload)):
        raise InvalidRequestError(_INVALID)
    cursor = json.loads(payload)
    if not isinstance(cursor, dict):
        raise InvalidRequestError(_INVALID)
    return cursor
