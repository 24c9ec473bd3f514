"""The local stand-in for the Cognito user pool (`AUTH=on make run`, `make token`): one RSA signing
key, its public JWKS, tokens shaped like Cognito ID tokens, and the check API Gateway's Cognito
authorizer makes. Never imported by a Lambda: only the local stack and the tests use it.

    .local-auth/private.pem   the signing key (created on first use; LOCAL_AUTH_DIR moves it)
    .local-auth/jwks.json     its public half, which the local gateway verifies tokens against

    make token USER=ada GROUPS=organizers TTL=3600     # = python -m local.auth --user ada …
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.config import ROOT

ISSUER = "event-registrations-local"
# A Cognito ID token's audience is the app client id; the local "app client" is this one.
AUDIENCE = "event-registrations-local-client"
KEY_ID = "local-1"
ALGORITHM = "RS256"
DEFAULT_TTL_SECONDS = 3600
_USER_ID = re.compile(r"[A-Za-z0-9._@:-]{1,64}")
_GROUP = re.compile(r"[A-Za-z0-9._-]{1,128}")


class InvalidToken(Exception):
    """Missing, malformed, expired, wrongly signed or for another audience: the gateway's 401."""


def key_dir() -> Path:
    return Path(os.environ.get("LOCAL_AUTH_DIR") or ROOT / ".local-auth")


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwks(private_key: rsa.RSAPrivateKey, kid: str = KEY_ID) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {"keys": [{**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"}]}


def ensure_keys(directory: Path | None = None) -> Path:
    """Creates the signing key and its JWKS unless they exist; returns their directory."""
    directory = directory or key_dir()
    private_path, jwks_path = directory / "private.pem", directory / "jwks.json"
    if private_path.exists() and jwks_path.exists():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    key = new_private_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Written to temporary names and renamed: a concurrent reader sees both files or neither.
    for path, data in ((private_path, pem), (jwks_path, json.dumps(public_jwks(key), indent=2).encode())):
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.chmod(0o600)
        tmp.replace(path)
    return directory


def load_private_key(directory: Path | None = None) -> rsa.RSAPrivateKey:
    directory = ensure_keys(directory)
    key = serialization.load_pem_private_key((directory / "private.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def issue_token(
    user_id: str,
    groups: Iterable[str] = (),
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    *,
    private_key: rsa.RSAPrivateKey | None = None,
    now: float | None = None,
    **overrides: Any,
) -> str:
    """A token shaped like a Cognito ID token for `user_id` (its subject) in `groups`."""
    if not _USER_ID.fullmatch(user_id):
        raise ValueError(f"user id {user_id!r} must be 1-64 letters, digits or . _ @ : -")
    groups = sorted(set(groups))
    for group in groups:
        if not _GROUP.fullmatch(group):
            raise ValueError(f"group {group!r} must be 1-128 letters, digits or . _ -")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": user_id,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "iat": issued,
        "auth_time": issued,
        "exp": issued + ttl_seconds,
    }
    if groups:
        claims["cognito:groups"] = groups
    claims.update(overrides)
    key = private_key or load_private_key()
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": KEY_ID})


def verify(authorization: str | None, directory: Path | None = None) -> dict[str, Any]:
    """The claims of a valid `Authorization: Bearer <token>` header, as the gateway checks it
    (the local gateway does the same in plugins/local-auth-provider.js); InvalidToken otherwise."""
    if not authorization or not authorization.startswith("Bearer "):
        raise InvalidToken("Missing bearer token")
    token = authorization.removeprefix("Bearer ").strip()
    jwks = jwt.PyJWKSet.from_dict(json.loads((ensure_keys(directory) / "jwks.json").read_text()))
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in jwks.keys if k.key_id == kid), None)
        if key is None:
            raise InvalidToken("Unknown signing key")
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("token_use") != "id":
        raise InvalidToken("Not an ID token")
    return claims


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make token", description="A bearer token for `AUTH=on make run`.")
    parser.add_argument("--user", required=True, help="the caller's user id (the token's subject)")
    parser.add_argument("--groups", default="", help="comma-separated: organizers, admins")
    parser.add_argument("--ttl", default="", help=f"seconds until it expires (default {DEFAULT_TTL_SECONDS})")
    args = parser.parse_args(argv)
    groups = [group.strip() for group in args.groups.split(",") if group.strip()]
    try:
        ttl = int(args.ttl) if args.ttl else DEFAULT_TTL_SECONDS
        if ttl < 1:
            raise ValueError("TTL must be a positive number of seconds")
        token = issue_token(args.user, groups, ttl)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"# user {args.user}, groups [{', '.join(groups)}], valid {ttl} s; send it as", file=sys.stderr)
    print('#   curl -H "Authorization: Bearer $TOKEN" …', file=sys.stderr)
    print(token)


if __name__ == "__main__":
    main()
