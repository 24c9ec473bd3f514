"""The committed openapi.json says which operations need a bearer token, and what they answer
without one, exactly as serverless.yml puts the authorizer on routes."""

from __future__ import annotations

import json
from typing import Any

from local.config import ROOT
from local.openapi_security import SCHEME, protected_operations

DOCUMENT: dict[str, Any] = json.loads((ROOT / "openapi.json").read_text())
PUBLIC = {("get", "/health"), ("get", "/docs"), ("get", "/events"), ("get", "/events/{eventId}")}


def test_the_bearer_scheme_is_declared() -> None:
    assert DOCUMENT["components"]["securitySchemes"][SCHEME] == {
        **DOCUMENT["components"]["securitySchemes"][SCHEME],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_protected_operations_need_the_token_and_document_401_and_403() -> None:
    operations = {(m, p): op for p, item in DOCUMENT["paths"].items() for m, op in item.items()}
    protected = protected_operations()
    # At least the contract's eleven; tests/unit/test_template.py's PROTECTED_METHODS pins the exact set.
    assert len(protected) >= 11 and protected <= set(operations)
    for key, operation in operations.items():
        if key in protected:
            assert operation["security"] == [{SCHEME: []}], key
            assert {"401", "403"} <= set(operation["responses"]), key
        else:
            assert key in PUBLIC, key
            assert "security" not in operation and not {"401", "403"} & set(operation["responses"]), key
