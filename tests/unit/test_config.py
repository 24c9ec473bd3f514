"""Configuration in one place: shared.config reads the functions' environment, and nothing else
under shared/ or functions/ does. Table names have no cloud default: a deployed function without
one fails naming the variable; only a local DynamoDB endpoint falls back to the dev tables."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from local import config as local_config
from shared.config import LOCAL_TABLES, SERVICE, ConfigurationError, get_settings
from tests.readme import ROOT

# Set by the Lambda runtime itself, not by this project's configuration.
RUNTIME_VARIABLES = {"shared/snapstart.py": {"AWS_LAMBDA_INITIALIZATION_TYPE"}}
_READ = re.compile(r"""(?:os\.environ|getenv)\b(?:\.get\(|\[|\()?\s*["']?([A-Z][A-Z0-9_]*)?""")


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_only_shared_config_reads_the_environment() -> None:
    for folder in ("shared", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "shared/config.py":
                continue
            read = {name or "(dynamic)" for name in _READ.findall(path.read_text())}
            assert read <= RUNTIME_VARIABLES.get(relative, set()), f"{relative} reads {read}: use shared.config"


def test_deployed_function_without_a_table_name_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployed environment (no local endpoint) that lacks EVENTS_TABLE
    monkeypatch.delenv("EVENTS_TABLE", raising=False)
    monkeypatch.setenv("DYNAMODB_ENDPOINT", "")
    settings = get_settings()
    # Then reading the settings still works (health needs no table), the other tables are there...
    assert settings.users_table == local_config.environment()["USERS_TABLE"]
    # ...and the first use of the missing one says what is wrong, not "-dev-" anything
    with pytest.raises(ConfigurationError, match=r"EVENTS_TABLE is not set"):
        _ = settings.events_table


@pytest.mark.parametrize("variable", sorted(LOCAL_TABLES))
def test_every_table_name_is_required_in_the_cloud(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "")
    monkeypatch.setenv("DYNAMODB_ENDPOINT", "")
    with pytest.raises(ConfigurationError, match=variable):
        get_settings().table(variable)


def test_a_local_endpoint_falls_back_to_the_dev_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in LOCAL_TABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000")
    settings = get_settings()
    assert settings.events_table == f"{SERVICE}-dev-events"
    assert settings.idempotency_table == f"{SERVICE}-dev-idempotency"
    # The fallback names are serverless.yml's dev tables, not a second list that could drift.
    dev = local_config.environment("dev")
    assert {variable: dev[variable] for variable in LOCAL_TABLES} == LOCAL_TABLES


def test_given_names_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000")
    monkeypatch.setenv("WAITLIST_TABLE", "svc-prod-waitlist")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "svc-prod-idempotency")
    assert get_settings().waitlist_table == "svc-prod-waitlist"
    assert get_settings().idempotency_table == "svc-prod-idempotency"


def test_service_name_namespace_and_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "TRACING_ENABLED"):
        monkeypatch.delenv(variable, raising=False)
    defaults = get_settings()
    assert (defaults.service_name, defaults.metrics_namespace, defaults.tracing_enabled) == (
        SERVICE,
        "EventRegistrations",
        False,
    )
    get_settings.cache_clear()
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "svc")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Ns")
    monkeypatch.setenv("TRACING_ENABLED", "True")
    given = get_settings()
    assert (given.service_name, given.metrics_namespace, given.tracing_enabled) == ("svc", "Ns", True)
