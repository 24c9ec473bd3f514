"""plugins/auth.js, the per-stage switch: authorizers kept (packaged, deployed), removed (auth off:
plain `make run` or `--param="auth=off"`), or verified locally (`AUTH=on make run`)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from local.config import ROOT

SCRIPT = """
const Auth = require(process.argv[1]);
const [mode, command] = [process.argv[2], process.argv[3]];
const service = {
  custom: { auth: { mode } },
  functions: {
    open: { events: [{ http: { path: '/health', method: 'get' } }] },
    guarded: { events: [{ http: { path: '/users', method: 'post', authorizer: { name: 'cognito' } } }] },
  },
};
const plugin = new Auth({ service, processedInput: { commands: [command] } });
try {
  plugin.hooks.initialize();
  console.log(JSON.stringify({ authorizer: service.functions.guarded.events[0].http.authorizer || null,
                               offline: service.custom.offline || null }));
} catch (err) {
  console.log(JSON.stringify({ error: err.message }));
}
"""


def run_plugin(mode: str, command: str) -> dict:
    if not shutil.which("node"):
        pytest.fail("node is required (make install)")
    result = subprocess.run(
        ["node", "-e", SCRIPT, str(ROOT / "plugins" / "auth.js"), mode, command],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def test_on_keeps_the_cognito_authorizer_for_the_cloud() -> None:
    assert run_plugin("on", "package") == {"authorizer": {"name": "cognito"}, "offline": None}


def test_on_under_offline_verifies_with_the_local_provider() -> None:
    state = run_plugin("on", "offline")
    assert state["authorizer"] == {"name": "cognito"}
    assert state["offline"] == {"customAuthenticationProvider": "./plugins/local-auth-provider.js"}


@pytest.mark.parametrize("command", ["package", "offline"])
def test_off_removes_every_authorizer(command: str) -> None:
    assert run_plugin("off", command) == {"authorizer": None, "offline": None}


def test_anything_else_is_refused() -> None:
    assert "must be" in run_plugin("yes", "package")["error"]
