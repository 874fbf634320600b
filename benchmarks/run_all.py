"""Run every benchmark in this folder, one after another, each in its own process.

.venv/bin/python -m benchmarks.run_all      (or: make bench)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    """Run each ``bench_*.py`` and return the first non-zero exit code, if any."""
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        code = subprocess.call([sys.executable, "-m", f"benchmarks.{script.stem}"], cwd=HERE.parent)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main())
