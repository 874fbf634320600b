"""``python -m llmmeter``: the llmmeter command line."""

from __future__ import annotations

from llmmeter._cli import main

raise SystemExit(main())
