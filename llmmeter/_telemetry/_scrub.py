"""Credentials out of exception text before it goes on a span.

An exception raised below the metered transport (a retry layer calling ``raise_for_status``, a
proxy) may quote the request URL, with its key-bearing query string (``?key=...``) or its
``user:password@``. The caller gets the exception untouched; the span's exception event gets its
message and stack trace with every URL cut down to scheme, host and path.
"""

from __future__ import annotations

import re
import traceback

from llmmeter._telemetry import _names as n

__all__ = ["exception_attributes", "without_url_secrets"]

_URL = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^\s/?#@'\"<>]*@)?(?P<rest>[^\s?#'\"<>]*)(?:\?[^\s#'\"<>]*)?"
)


def without_url_secrets(text: str) -> str:
    """``text`` with the credentials and query strings of the URLs in it removed."""
    return _URL.sub(r"\g<scheme>\g<rest>", text)


def exception_attributes(exception: BaseException) -> dict[str, str]:
    """The message and stack trace of ``exception`` for a span's exception event, without URL secrets."""
    stacktrace = "".join(traceback.format_exception(exception))
    return {
        n.EXCEPTION_MESSAGE: without_url_secrets(str(exception)),
        n.EXCEPTION_STACKTRACE: without_url_secrets(stacktrace),
    }
