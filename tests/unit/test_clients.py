"""The pre-serialised botocore models (shared/repositories/clients.py): they hold exactly what the
installed botocore would load, and a client built from them is the client boto3 builds."""

from __future__ import annotations

import marshal

import boto3
import botocore
import pytest

from local.config import FAKE_AWS
from shared.repositories import clients


def test_models_file_belongs_to_the_installed_botocore() -> None:
    # Given the file in the repository, when it is read
    recorded = marshal.loads(clients.MODELS.read_bytes())
    # Then it was made from this botocore, and holds what botocore's own loader returns today
    assert recorded["botocore"] == botocore.__version__, "run: .venv/bin/python -m shared.repositories.clients"
    assert recorded == clients.record(), "run: .venv/bin/python -m shared.repositories.clients"


def test_endpoint_data_keeps_only_our_services_and_every_partition() -> None:
    stock = botocore.loaders.Loader().load_data("endpoints")
    trimmed = clients.record()["data"]["endpoints"]
    assert [p["partition"] for p in trimmed["partitions"]] == [p["partition"] for p in stock["partitions"]]
    for ours, theirs in zip(trimmed["partitions"], stock["partitions"], strict=True):
        assert set(ours["services"]) == set(clients.SERVICES) & set(theirs["services"])
        assert {k: v for k, v in ours.items() if k != "services"} == {
            k: v for k, v in theirs.items() if k != "services"
        }


@pytest.mark.parametrize("service", clients.SERVICES)
@pytest.mark.parametrize(
    ("region", "endpoint_url"),
    [("us-east-1", None), ("eu-central-1", None), ("cn-north-1", None), ("us-east-1", "http://127.0.0.1:8000")],
)
def test_client_matches_a_stock_boto3_client(
    service: str, region: str, endpoint_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    clients.session.cache_clear()
    # Given a client from the preloaded session and one from a stock boto3 session
    session = clients.session()
    assert isinstance(session._session.get_component("data_loader"), clients.PreloadedLoader)
    ours = session.client(service, region_name=region, endpoint_url=endpoint_url)
    stock = boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint_url)
    # Then they target the same endpoint, sign alike and know the same operations and shapes
    assert ours.meta.endpoint_url == stock.meta.endpoint_url
    assert ours.meta.region_name == stock.meta.region_name
    assert ours.meta.partition == stock.meta.partition
    assert ours.meta.service_model.signing_name == stock.meta.service_model.signing_name
    assert ours.meta.service_model.operation_names == stock.meta.service_model.operation_names
    assert ours.meta.service_model._service_description == stock.meta.service_model._service_description
    request = {"TableName": "t", "Key": {"id": {"S": "x"}}} if service == "dynamodb" else {"Entries": []}
    operation = "GetItem" if service == "dynamodb" else "PutEvents"
    resolved = [
        c._resolve_endpoint_ruleset(c.meta.service_model.operation_model(operation), request, {}) for c in (ours, stock)
    ]
    assert resolved[0] == resolved[1]
    clients.session.cache_clear()


def test_another_botocore_version_reads_the_files(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a botocore other than the one the file was made from (a runtime that brings its own)
    monkeypatch.setattr(botocore, "__version__", "0.0.0")
    clients.session.cache_clear()
    try:
        # When the session is created, then botocore's stock loader reads its own files
        loader = clients.session()._session.get_component("data_loader")
        assert not isinstance(loader, clients.PreloadedLoader)
    finally:
        clients.session.cache_clear()
