"""README.md stays true without a running stack: the walkthrough's shape (every request promises
its answer, ASCII only, no event deleted before its last use, the promised outcomes all shown), the
configuration table against what the code and serverless.yml actually read, each variable of it
exercised by a named test, and relative links that resolve. Running the walkthrough itself:
tests/integration/test_readme_walkthrough.py."""

from __future__ import annotations

import ast
import re

import pytest
import yaml

from local import config
from tests.readme import README, ROOT, Step, section, steps, table_rows, walkthrough

# Where each variable of the configuration table is exercised. A new row needs an entry here.
EXERCISED = {
    "PORT": "tests/integration/test_readme_walkthrough.py::test_seed_then_walkthrough_as_written",
    "LAMBDA_PORT": "tests/integration/test_local_stack.py::test_ctrl_c_stops_every_process",
    "DYNAMODB_PORT": "tests/functions/test_reconcile.py::test_cli_targets_dynamodb_port_like_make_run",
    "DYNAMODB_ENDPOINT": "tests/integration/test_local_stack.py::test_ctrl_c_stops_every_process",
    "DYNAMODB_LIMITS": "tests/unit/test_aws_limits.py::test_dynamodb_limits_in_the_environment_switches_it_on",
    "STAGE": "tests/integration/test_configuration.py::test_stage_names_the_tables",
    "STARTUP_TIMEOUT": "tests/integration/test_configuration.py::test_startup_timeout",
    "LOCAL_DATA_DIR": "tests/integration/test_local_data.py::test_data_survives_restarts_a_pending_promotion_happens_once_and_reset_empties",
    "SNAPSHOT_INTERVAL": "tests/integration/test_local_data.py::test_data_survives_restarts_a_pending_promotion_happens_once_and_reset_empties",
    "LOCAL_CONCURRENCY": "tests/integration/test_configuration.py::test_local_concurrency",
    "STREAMS_CHECKPOINT_FILE": "tests/integration/test_local_data.py::test_data_survives_restarts_a_pending_promotion_happens_once_and_reset_empties",
    "PYTHON": "tests/unit/test_tooling.py::test_missing_tools_are_named_with_the_version_needed",
    "PACKAGE_DIR": "tests/unit/test_deploy_package.py::test_deploy_package_is_arm64_with_aarch64_wheels_and_bytecode",
    "param:customerManagedKeys": "tests/unit/test_template.py::test_prod_encrypts_everything_at_rest_with_its_own_rotated_retained_key",
    "param:logRetentionDays": "tests/unit/test_template.py::test_profiles_differ_as_the_params_block_says",
    "param:registerThrottleRate": "tests/unit/test_template.py::test_stage_throttling_bus_schedule_and_tables",
    "param:registerThrottleBurst": "tests/unit/test_template.py::test_stage_throttling_bus_schedule_and_tables",
    "param:promotionConcurrency": "tests/unit/test_template.py::test_background_functions_are_bounded_and_reconcile_has_a_dead_letter_queue",
    "param:eventChangesConcurrency": "tests/unit/test_template.py::test_background_functions_are_bounded_and_reconcile_has_a_dead_letter_queue",
    "param:reconcileConcurrency": "tests/unit/test_template.py::test_background_functions_are_bounded_and_reconcile_has_a_dead_letter_queue",
    "param:corsOrigin": "tests/unit/test_template.py::test_the_local_stack_reads_the_params_block_as_osls_does",
    "param:apiLogRoleManagedExternally": "tests/unit/test_template.py::test_profiles_differ_as_the_params_block_says",
    "param:architecture": "tests/unit/test_deploy_package.py::test_the_architecture_param_moves_functions_and_wheels_together",
    "FUZZ_SEED": "tests/integration/test_schemathesis.py::test_schemathesis_cli_with_every_check_finds_nothing",
    "FUZZ_EXAMPLES": "tests/integration/test_schemathesis.py::test_schemathesis_cli_with_every_check_finds_nothing",
    "PYTHON312": "tests/unit/test_bytecode_plugin.py::test_python312_names_the_compiler",
    "BYTECODE_REQUIRED": "tests/unit/test_bytecode_plugin.py::test_required_bytecode_without_python312_fails",
    "MAX_BODY_BYTES": "tests/integration/test_configuration.py::test_max_body_bytes",
    "PAGINATION_SECRET": "tests/integration/test_configuration.py::test_pagination_secret",
    "PAGINATION_SECRET_PARAMETER": "tests/unit/test_template.py::test_the_page_token_key_is_no_literal_but_a_per_stage_ssm_parameter",
    "CORS_ALLOW_ORIGIN": "tests/unit/test_template.py::test_cors_comes_from_one_configuration",
    "CORS_ALLOW_HEADERS": "tests/unit/test_template.py::test_cors_comes_from_one_configuration",
    "CORS_MAX_AGE": "tests/unit/test_template.py::test_cors_comes_from_one_configuration",
    "param:snapStart": "tests/unit/test_template.py::test_snapstart_parameter_puts_every_function_behind_a_snapshot_alias",
    "POWERTOOLS_LOG_LEVEL": "tests/integration/test_configuration.py::test_log_level",
    "TRACING_ENABLED": "tests/functions/test_observability.py::test_xray_is_imported_only_when_tracing_is_on",
    "TRANSACTION_ATTEMPTS": "tests/functions/test_faults.py::test_register_confirmed",
    "AUTH": "tests/integration/test_auth_http.py::test_refusals_and_reads_change_nothing",
    "LOCAL_AUTH_DIR": "tests/unit/test_local_auth.py::test_make_token_prints_the_token_last",
    "param:userPoolArn": "tests/unit/test_template.py::test_cognito_user_pool_client_and_groups",
    "param:throttleRate": "tests/unit/test_template.py::test_stage_throttling_bus_schedule_and_tables",
    "param:throttleBurst": "tests/unit/test_template.py::test_stage_throttling_bus_schedule_and_tables",
    "param:alarmEmail": "tests/unit/test_template.py::test_alarms_go_to_the_topic",
    "param:reconcileEnabled": "tests/unit/test_template.py::test_stage_throttling_bus_schedule_and_tables",
    "EVENTS_TABLE": "tests/integration/test_configuration.py::test_stage_names_the_tables",
    "USERS_TABLE": "tests/integration/test_configuration.py::test_stage_names_the_tables",
    "REGISTRATIONS_TABLE": "tests/integration/test_configuration.py::test_stage_names_the_tables",
    "WAITLIST_TABLE": "tests/integration/test_configuration.py::test_stage_names_the_tables",
    "IDEMPOTENCY_TABLE": "tests/integration/test_readme_walkthrough.py::test_seed_then_walkthrough_as_written",
    "EVENT_BUS_NAME": "tests/functions/test_promotion.py::test_each_promotion_is_announced_on_the_event_bus",
    "EVENTBRIDGE_ENDPOINT": "tests/functions/test_promotion.py::test_each_promotion_is_announced_on_the_event_bus",
    "POWERTOOLS_SERVICE_NAME": "tests/functions/test_observability.py::test_business_actions_are_logged_and_counted_without_names",
    "POWERTOOLS_METRICS_NAMESPACE": "tests/functions/test_observability.py::test_business_actions_are_logged_and_counted_without_names",
}

# Read by the code but set by Lambda or the shell, not by this project.
# Not ours (PATH; pyenv's root, where plugins/bytecode.js looks for python3.12), or handed by
# local/run.py to plugins/local-auth-provider.js rather than set by anyone.
NOT_OURS = {"PATH", "PYENV_ROOT", "LOCAL_AUTH_ISSUER", "LOCAL_AUTH_AUDIENCE"}
_ENV_READ = re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""")


def documented() -> dict[str, list[str]]:
    """{name: row} for every name in the first column of the configuration tables."""
    rows = {}
    for row in table_rows(section("Configuration")):
        for name in row[0].split(","):
            rows[name.strip().strip("`")] = row
    return rows


def variables_read() -> set[str]:
    """Environment variables our code, our plugins, serverless.yml and the Makefile read, and the stage
    parameters serverless.yml uses (as `param:name`)."""
    found: set[str] = set()
    for folder in ("local", "shared", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(_ENV_READ.findall(path.read_text()))
    for path in (ROOT / "plugins").glob("*.js"):
        found |= set(re.findall(r"process\.env\.(\w+)", path.read_text()))
    serverless = config.SERVERLESS_YML.read_text()
    found |= set(re.findall(r"\$\{env:(\w+)", serverless))
    found |= {f"param:{name}" for name in re.findall(r"\$\{param:(\w+)", serverless)}
    raw = yaml.safe_load(re.sub(r"!\w+", "", serverless))
    found |= set(raw["provider"]["environment"])
    for profile in (raw.get("params") or {}).values():  # a `params:` block, when there is one
        found |= {f"param:{name}" for name in profile}
    makefile = (ROOT / "Makefile").read_text()
    found |= set(re.findall(r"\$\$\{(\w+)", makefile)) | set(re.findall(r"^(\w+) \?=", makefile, re.MULTILINE))
    return {name for name in found if name not in NOT_OURS and not name.startswith("AWS_")}


def test_configuration_table_lists_what_is_read_and_nothing_else() -> None:
    rows = documented()
    text = section("Configuration")
    read = variables_read()
    missing = {name for name in read if name not in rows and not (name.startswith("param:") and f"`{name}`" in text)}
    stale = {name for name in rows if name not in read}
    assert not missing, f"read but not in README's configuration table: {sorted(missing)}"
    assert not stale, f"in README's configuration table but read nowhere: {sorted(stale)}"


def test_every_configuration_variable_is_exercised_by_a_named_test() -> None:
    for name, row in documented().items():
        assert name in EXERCISED, f"{name}: say in EXERCISED which test exercises it"
        path, _, function = EXERCISED[name].partition("::")
        tree = ast.parse((ROOT / path).read_text())
        defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert function in defined, f"{name}: {EXERCISED[name]} does not exist"
        if name.startswith("param:"):
            assert "locally" in row[-1], f"{name}: a deploy parameter says what stands for it locally"


def test_no_variable_is_documented_twice() -> None:
    names = [name.strip().strip("`") for row in table_rows(section("Configuration")) for name in row[0].split(",")]
    assert len(names) == len(set(names)), sorted(name for name in names if names.count(name) > 1)


def test_walkthrough_requests_each_promise_an_answer() -> None:
    found = walkthrough()
    requests = [step for step in found if "api " in step.command or "curl " in step.command.replace("api()", "")]
    assert len(requests) >= 20
    for step in found:
        assert step.command.isascii(), f"copying this fails: non-ASCII in\n{step.command}"
        if step.command.startswith("api") and not step.command.startswith("api()"):
            assert step.expected, f"no `# →` answer for\n{step.command}"


def test_walkthrough_shows_every_outcome_it_is_for() -> None:
    promised = "\n".join(line for step in walkthrough() for line in step.expected)
    for outcome in (
        '"status":"confirmed"',
        '"status":"waitlisted","position":1',
        '{"detail":"Event is full"} 409',
        "idempotent-replayed: true",
        '{"userId":"alan","eventId":"launch","status":"confirmed"',  # promoted from the waitlist
    ):
        assert outcome in promised, outcome


def test_walkthrough_deletes_no_event_before_its_last_use() -> None:
    found = walkthrough()
    for index, step in enumerate(found):
        deleted = re.search(r"-X DELETE \$API/events/([\w.@:-]+)$", step.command)
        if not deleted:
            continue
        for later in found[index + 1 :]:
            if f"/events/{deleted.group(1)}" in later.command:
                assert later.expected and later.expected[-1].endswith(" 404"), later.command


@pytest.mark.parametrize(
    ("expected", "output", "matches"),
    [
        (['{"a":"…"} 201'], '{"a":"x1"} 201', True),
        (['{"a":"…"} 201'], '{"a":"x1"} 409', False),
        (
            ["HTTP/1.1 201 Created", "…", "x: true", "…", "{} 201"],
            "HTTP/1.1 201 Created\r\ny: 1\r\nx: true\r\n\r\n{} 201",
            True,
        ),
        (
            ["HTTP/1.1 201 Created", "…", "x: true", "…", "{} 201"],
            "HTTP/1.1 201 Created\r\nx: false\r\n\r\n{} 201",
            False,
        ),
        (["[] 200"], "[] 200\n", True),
    ],
)
def test_expectations_match_exactly_but_for_the_ellipsis(expected: list[str], output: str, matches: bool) -> None:
    assert Step("api x", expected).matches(output) is matches


def test_steps_split_on_blank_and_comment_lines() -> None:
    block = "A=1\n# prose\napi one \\\n  two\n# → 1\n# → 2\n\nsleep 1\napi three\n# → 3\n"
    assert steps(block) == [Step("A=1", []), Step("api one \\\n  two", ["1", "2"]), Step("sleep 1\napi three", ["3"])]


def test_relative_links_resolve() -> None:
    for target in re.findall(r"\]\((?!https?://|#)([^)#]+)", README.read_text()):
        assert (ROOT / target).exists(), f"README.md links to {target}, which is not in the repository"
