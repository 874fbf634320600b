"""``python -m llmmeter._demo [--live]``: the demo without the CLI."""

from __future__ import annotations

import sys

from llmmeter._demo import main

sys.exit(main(sys.argv[1:]))
