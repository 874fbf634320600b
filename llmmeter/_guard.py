"""The safety net between llmmeter's own bugs and the user's call.

In production an internal error is logged once per place and the call goes on untouched. With
``LLMMETER_STRICT=1`` (set by the project's own tests) it is raised, so bugs cannot hide behind it.
"""

from __future__ import annotations

import logging
import os

__all__ = ["internal_error"]

logger = logging.getLogger("llmmeter")
_reported: set[str] = set()


def internal_error(where: str, exc: BaseException) -> None:
    """Handle an exception raised inside llmmeter while metering ``where``."""
    if os.environ.get("LLMMETER_STRICT") == "1":
        raise exc
    if where not in _reported:
        _reported.add(where)
        logger.error("llmmeter: internal error in %s; the call goes on unmetered there", where, exc_info=exc)
