"""README.md read as executable documentation: the walkthrough's shell steps with the answers
their `# →` comments promise, and the configuration table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_URL = "http://127.0.0.1:3000"
EXPECT = "# → "
ANYTHING = "…"


def section(title: str, text: str | None = None) -> str:
    """The text of the `## title` section, up to the next `## `."""
    text = README.read_text() if text is None else text
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)


@dataclass
class Step:
    command: str  # one or more lines, as pasted
    expected: list[str]  # the `# →` lines after it, without the marker

    def pattern(self) -> re.Pattern[str]:
        """The promised output; `…` stands for anything (across lines too)."""
        literal = "\n".join(self.expected)
        return re.compile(".*?".join(re.escape(part) for part in literal.split(ANYTHING)), re.DOTALL)

    def matches(self, output: str) -> bool:
        return self.pattern().fullmatch(output.replace("\r", "").strip()) is not None


def steps(block: str) -> list[Step]:
    """A step is a run of command lines (no blank or comment line inside), then its `# →` lines.
    Other comment lines are prose for the reader."""
    found: list[Step] = []
    command: list[str] = []
    for line in block.splitlines():
        if line.startswith(EXPECT):
            assert found or command, f"an expectation before any command: {line}"
            if command:
                found.append(Step("\n".join(command), []))
                command = []
            found[-1].expected.append(line.removeprefix(EXPECT))
        elif not line.strip() or line.lstrip().startswith("#"):
            if command:
                found.append(Step("\n".join(command), []))
                command = []
        else:
            command.append(line)
    if command:
        found.append(Step("\n".join(command), []))
    return found


def walkthrough() -> list[Step]:
    return [step for block in shell_blocks(section("Try it")) for step in steps(block)]


def table_rows(markdown: str) -> list[list[str]]:
    """The body rows of the markdown tables in `markdown`, cells stripped."""
    rows = []
    for line in markdown.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return [row for row in rows if row[0] != "variable"]
