"""Opaque, tamper-evident page tokens: the DynamoDB cursor, signed with HMAC-SHA256 together with
the identity of the list it belongs to, so an edited token or one from another list is a 400.

The key is never a literal: PAGINATION_SECRET (the local stack draws a random one per run), or in
a deployed stage the SecureString SSM parameter named by PAGINATION_SECRET_PARAMETER
(`/event-registrations/<stage>/pagination-secret`), read on first use with Powertools parameters
and cached. Without either, or with a key under 32 bytes, a list refuses to page (500, logged)."""

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
MIN_SECRET_BYTES = 32
# Rotating the parameter reaches every warm function within this many seconds.
_SECRET_MAX_AGE_SECONDS = 900


class SigningKeyMissingError(RuntimeError):
    """The stage has no usable page-token key: a configuration error, never the client's."""


def signing_key() -> bytes:
    settings = get_settings()
    key = settings.pagination_secret
    if key is None and settings.pagination_secret_parameter:
        from aws_lambda_powertools.utilities.parameters import get_parameter

        name = settings.pagination_secret_parameter
        try:
            key = str(get_parameter(name, decrypt=True, max_age=_SECRET_MAX_AGE_SECONDS)).encode()
        except Exception as exc:
            raise SigningKeyMissingError(
                f"cannot read the page-token key from SSM parameter {name}: create it as a SecureString "
                f"of at least {MIN_SECRET_BYTES} random bytes (README, Configuration)"
            ) from exc
    if key is None:
        raise SigningKeyMissingError("no page-token key: set PAGINATION_SECRET_PARAMETER (or PAGINATION_SECRET)")
    if len(key) < MIN_SECRET_BYTES:
        raise SigningKeyMissingError(f"the page-token key must be at least {MIN_SECRET_BYTES} bytes")
    return key


def _signature(scope: str, payload: bytes) -> bytes:
    return hmac.new(signing_key(), scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]


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
    try:
        cursor = json.loads(payload)
    except ValueError:
        raise InvalidRequestError(_INVALID) from None
    if not isinstance(cursor, dict) or not cursor:
        raise InvalidRequestError(_INVALID)
    return cursor
