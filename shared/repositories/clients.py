"""AWS clients built the cheap way: the models botocore would read for them, pre-serialised.

Creating a botocore client spends most of its time reading JSON: `endpoints.json` (1.2 MB, every
service of every partition), the service model (gzip + JSON), the endpoint rule set, and a scan of
all ~450 service directories to check that the service exists. `botocore-models.marshal` holds
exactly what botocore's loader returns for the clients this project creates, with the endpoint data
of other services left out (the resolver looks a service up by name, so theirs is never read). A
loader that answers from it gives botocore the same data, so the client is the same client.

The file belongs to one botocore version: when the installed botocore differs, or a call was not
recorded, the stock loader answers. The deployment package ships the pinned botocore (serverless.yml,
ahead of the Lambda runtime's own on sys.path), so there it always applies. Regenerate it after
changing the boto3 pin (tests/unit/test_clients.py fails until then):

    .venv/bin/python -m shared.repositories.clients
"""

from __future__ import annotations

import marshal
import os
from functools import cache
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders
import botocore.session

MODELS = Path(__file__).with_name("botocore-models.marshal")
# The clients this project creates (shared/repositories/dynamo.py, notifications.py).
SERVICES = ("dynamodb", "events")
_TOP_LEVEL = ("endpoints", "partitions", "sdk-default-configuration")


class PreloadedLoader(botocore.loaders.Loader):
    """botocore's loader, answering recorded calls from memory; anything else goes to the files."""

    def __init__(self, recorded: dict[str, Any]) -> None:
        super().__init__()
        self._models: dict[str, Any] = recorded["service_models"]
        self._data: dict[str, Any] = recorded["data"]

    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        model = self._models.get(f"{service_name}/{type_name}") if api_version is None else None
        if model is not None:
            return model
        return super().load_service_model(service_name, type_name, api_version)

    def load_data_with_path(self, name: str) -> Any:
        if name in self._data:
            # A builtin path: the endpoint resolver trusts builtin data (no customer overrides).
            return self._data[name], os.path.join(self.BUILTIN_DATA_PATH, name)
        return super().load_data_with_path(name)


def _recorded() -> dict[str, Any] | None:
    try:
        recorded = marshal.loads(MODELS.read_bytes())  # noqa: S302 - our own file, shipped in the package
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return recorded if recorded.get("botocore") == botocore.__version__ else None


@cache
def session() -> Any:
    """One boto3 session per process, on a botocore session with the preloaded models when they
    belong to the installed botocore (boto3 wraps it for its user agent and handlers)."""
    import boto3.session

    core = botocore.session.Session()
    recorded = _recorded()
    if recorded is not None:
        core.register_component("data_loader", PreloadedLoader(recorded))
    return boto3.session.Session(botocore_session=core)


def record(services: tuple[str, ...] = SERVICES) -> dict[str, Any]:
    """What botocore's own loader returns for `services`' clients, endpoint data trimmed to them."""
    loader = botocore.loaders.Loader()
    models = {
        f"{service}/{kind}": loader.load_service_model(service, kind)
        for service in services
        for kind in ("service-2", "endpoint-rule-set-1")
    }
    data = {name: loader.load_data(name) for name in _TOP_LEVEL}
    endpoints = data["endpoints"]
    data["endpoints"] = {
        **endpoints,
        "partitions": [
            {**partition, "services": {k: v for k, v in partition["services"].items() if k in services}}
            for partition in endpoints["partitions"]
        ],
    }
    return _plain({"botocore": botocore.__version__, "service_models": models, "data": data})


def _plain(value: Any) -> Any:
    # botocore reads JSON into OrderedDicts, which marshal cannot store; plain dicts keep the order
    # and nothing in botocore needs more (it builds its own OrderedDicts from the model).
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def main() -> None:
    MODELS.write_bytes(marshal.dumps(record()))
    print(f"{MODELS} ({MODELS.stat().st_size} bytes, botocore {botocore.__version__})")


if __name__ == "__main__":
    main()
