"""Headless Chromium (Debian's `chromium`, installed by `make chromium`) on a page of the local stack:
the DOM once scripts have run, or a PNG. Used by tests/integration/test_docs_browser.py and to
refresh docs/swagger-ui.png against a running `make run`:

    python -m local.browser screenshot http://127.0.0.1:3000/docs docs/swagger-ui.png
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

# Without the networking switches Chromium keeps trying Google's hosts, which a closed network
# refuses; --no-sandbox because CI runs as root. A fresh profile each time: nothing cached.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
# Virtual time: Chromium returns once the page is idle or this budget (ms) is spent, whichever first.
RENDER_BUDGET_MS = 15_000
TIMEOUT_S = 120


class ChromiumMissingError(RuntimeError):
    pass


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise ChromiumMissingError("chromium is not on PATH: `make chromium` installs it (apt-get, as root)")
    return found


def _run(url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={RENDER_BUDGET_MS}",
                *arguments,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=True,
        )


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran, as HTML."""
    return _run(url, "--dump-dom").stdout


def screenshot(url: str, path: Path, width: int = 1280, height: int = 1500) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(url, f"--window-size={width},{height}", f"--screenshot={path.resolve()}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Headless Chromium on a page of the local stack.")
    commands = parser.add_subparsers(dest="command", required=True)
    shot = commands.add_parser("screenshot", help="writes a PNG of the rendered page")
    shot.add_argument("url")
    shot.add_argument("path", type=Path)
    arguments = parser.parse_args()
    print(screenshot(arguments.url, arguments.path))


if __name__ == "__main__":
    main()
