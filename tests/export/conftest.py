"""Helpers for the export tests: Python subprocesses (global providers stay out of the test process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBPROCESS_TIMEOUT_S = 30

# Variables that would change what a subprocess exports, or send it to a real API.
_SCRUBBED_PREFIXES = ("OTEL_", "OPENAI_", "ANTHROPIC_", "LANGCHAIN_", "LANGSMITH_")


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without OTEL_* or API keys, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_SCRUBBED_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["LLMMETER_STRICT"] = "1"
    env.update(extra)
    return env


def python_command(*parts: str) -> list[str]:
    """The command running the script made of ``parts`` (each dedented), with warnings as errors."""
    script = "\n".join(textwrap.dedent(part) for part in parts)
    return [sys.executable, "-W", "error", "-c", script]


def run_python(*parts: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the script made of ``parts`` in a fresh interpreter from the repository root; fail if it fails."""
    result = subprocess.run(
        python_command(*parts),
        cwd=ROOT,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        pytest.fail(f"subprocess exited with {result.returncode}\n{output}")
    return result
