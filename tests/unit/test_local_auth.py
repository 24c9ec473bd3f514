"""local/auth.py, the local stand-in for the Cognito user pool: the tokens it issues are what the
gateway's check accepts, and every kind of bad token is refused."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest

from local import auth
from local.config import ROOT


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return auth.ensure_keys(tmp_path / "keys")


def token(keys: Path, user: str = "ada", groups: tuple[str, ...] = (), **claims: Any) -> str:
    return auth.issue_token(user, groups, 600, private_key=auth.load_private_key(keys), **claims)


def test_an_issued_token_verifies_with_its_claims(keys: Path) -> None:
    claims = auth.verify(f"Bearer {token(keys, 'olga', ('organizers', 'admins'))}", keys)
    assert claims["sub"] == "olga" and claims["cognito:groups"] == ["admins", "organizers"]
    assert (claims["iss"], claims["aud"], claims["token_use"]) == (auth.ISSUER, auth.AUDIENCE, "id")


def test_keys_are_made_once(keys: Path) -> None:
    jwks = (keys / "jwks.json").read_text()
    assert auth.ensure_keys(keys) == keys and (keys / "jwks.json").read_text() == jwks
    assert "d" not in json.loads(jwks)["keys"][0], "the JWKS holds the public key only"


def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'kid': auth.KEY_ID})}.{part(claims)}."


@pytest.mark.parametrize(
    "make",
    [
        lambda k: None,
        lambda k: token(k),  # no "Bearer "
        lambda k: "Bearer not-a-jwt",
        lambda k: f"Bearer {token(k, exp=1, iat=0)}",
        lambda k: f"Bearer {token(k, aud='another-client')}",
        lambda k: f"Bearer {token(k, iss='someone-else')}",
        lambda k: f"Bearer {token(k, token_use='access')}",
        lambda k: "Bearer " + auth.issue_token("ada", (), 600, private_key=auth.new_private_key()),
        lambda k: "Bearer " + _unsigned({"sub": "root", "iss": auth.ISSUER, "aud": auth.AUDIENCE, "exp": 2**40}),
        lambda k: "Bearer " + jwt.encode({"sub": "root"}, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256"),
    ],
    ids=[
        "missing",
        "no-bearer",
        "garbage",
        "expired",
        "audience",
        "issuer",
        "access-token",
        "foreign-key",
        "alg-none",
        "hs256",
    ],
)
def test_bad_tokens_are_refused(keys: Path, make: Any) -> None:
    with pytest.raises(auth.InvalidToken):
        auth.verify(make(keys), keys)


def test_make_token_prints_the_token_last(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "token", "USER=ada", "GROUPS=organizers", "TTL=60"],
        cwd=ROOT,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LOCAL_AUTH_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    claims = auth.verify(f"Bearer {result.stdout.strip().splitlines()[-1]}", tmp_path)
    assert claims["sub"] == "ada" and claims["cognito:groups"] == ["organizers"]
    assert claims["exp"] - claims["iat"] == 60


def test_make_token_needs_a_user(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "token"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "USER": "root", "LOCAL_AUTH_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "USER=<id>" in result.stderr
