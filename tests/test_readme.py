"""Every ```python block of README.md runs as written, imports included, in a fresh interpreter.

The convention, for whoever adds a block:

* A block talks to the provider APIs the way an app does, through the SDKs' own variables: the test
  points ``OPENAI_BASE_URL`` and ``ANTHROPIC_BASE_URL`` at a local fake provider (the one
  ``llmmeter.testing.fake_provider()`` starts: chat completions, responses, embeddings, Anthropic
  messages) and sets ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY`` to dummy keys. So
  ``openai.OpenAI()``, ``anthropic.Anthropic()`` and ``ChatOpenAI(...)`` work with no argument.
  Every other ``OTEL_*``, ``OPENAI_*``, ``ANTHROPIC_*`` and LangChain variable is removed.
* Blocks run from the repository root, one interpreter each, warnings shown but not fatal
  (they are the user's view), and must exit 0 within a minute.
* A block that cannot run as a whole program (it needs a framework that is not installed, or
  is one line of a longer file) is skipped only when the line right before its opening fence is
  ``<!-- not-run: the reason -->``; the reason is shown as the skip reason.
* Only ```python fences are run: ``sh``, ``toml``, ``promql`` and others are not.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmmeter.testing import FakeProvider, fake_provider
from tests.export.conftest import ROOT, clean_env

README = ROOT / "README.md"
BLOCK_TIMEOUT_S = 60
_NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->$")


@dataclass(frozen=True)
class Block:
    line: int
    """The line of the opening fence (1-based)."""
    code: str
    not_run: str | None
    """The reason given by a ``<!-- not-run: ... -->`` marker, if any."""


def python_blocks(path: Path) -> list[Block]:
    """The ```python blocks of a Markdown file, with the not-run marker before each, if any."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            start = index
            index += 1
            body = []
            while index < len(lines) and lines[index].strip() != "```":
                body.append(lines[index])
                index += 1
            previous = lines[start - 1].strip() if start > 0 else ""
            marker = _NOT_RUN.match(previous)
            blocks.append(Block(start + 1, "\n".join(body) + "\n", marker["reason"] if marker else None))
        index += 1
    return blocks


BLOCKS = python_blocks(README)


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    with fake_provider() as running:
        yield running


def test_the_readme_has_python_blocks():
    """The extraction finds the README's blocks (a broken fence would silently run nothing)."""
    assert len(BLOCKS) >= 8
    assert all(block.code.strip() for block in BLOCKS)


def test_a_not_run_marker_needs_a_reason():
    """``<!-- not-run: -->`` without a reason is not a marker: the block would run (and fail)."""
    assert _NOT_RUN.match("<!-- not-run: needs FastAPI -->")
    assert not _NOT_RUN.match("<!-- not-run: -->")


@pytest.mark.parametrize("block", BLOCKS, ids=[f"line{block.line}" for block in BLOCKS])
def test_readme_block_runs(block: Block, provider: FakeProvider, tmp_path: Path):
    """The block runs as written against the local fake provider."""
    if block.not_run is not None:
        pytest.skip(f"README line {block.line}: {block.not_run}")
    script = tmp_path / f"readme_line{block.line}.py"
    script.write_text(block.code, encoding="utf-8")
    env = clean_env(
        OPENAI_BASE_URL=provider.openai_base_url,
        ANTHROPIC_BASE_URL=provider.anthropic_base_url,
        OPENAI_API_KEY="sk-readme-test",
        ANTHROPIC_API_KEY="sk-ant-readme-test",
    )
    env.pop("LLMMETER_STRICT", None)  # run as a user's program does
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, (
        f"README block at line {block.line} failed:\n{block.code}\n--- stdout\n{result.stdout}"
        f"\n--- stderr\n{result.stderr}"
    )
