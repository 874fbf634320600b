"""Credentials out of exception text before it goes on a span.

An exception raised below the metered transport (a retry layer calling ``raise_for_status``, a
proxy, h11 refusing a header value with a stray newline) may quote the request URL, with its
key-bearing query string (``?key=...``) or its ``user:password@``, or the credential headers
themselves. The caller gets the exception untouched; the span's exception event gets its message
and stack trace with every URL cut down to scheme, host and path (a relative ``/path?query`` to its
path), and every credential value the request carried replaced, however it is quoted.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable

from llmmeter._telemetry import _names as n

__all__ = [
    "CREDENTIAL_HEADERS",
    "exception_attributes",
    "secret_forms",
    "without_secrets",
    "without_url_secrets",
]

CREDENTIAL_HEADERS = (
    "authorization",
    "proxy-authorization",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "x-amz-security-token",
)
"""Request headers (lower case) whose values are credentials, kept out of recorded exceptions."""

_URL = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^\s/?#@'\"<>]*@)?(?P<rest>[^\s?#'\"<>]*)(?:\?[^\s#'\"<>]*)?"
)


_RELATIVE_QUERY = re.compile(r"(?P<path>(?<![\w:/])/[^\s?#'\"<>]*)\?[^\s#'\"<>]*")

REDACTED = "[REDACTED]"
_SHORTEST_SECRET = 6
"""Shorter values are not searched for: replacing them would garble unrelated text."""


def without_url_secrets(text: str) -> str:
    """``text`` with the credentials and query strings of the URLs in it removed."""
    return _RELATIVE_QUERY.sub(r"\g<path>", _URL.sub(r"\g<scheme>\g<rest>", text))


def secret_forms(values: Iterable[str]) -> tuple[str, ...]:
    """Every form in which a credential header value may appear in exception text, longest first:
    as sent, without its scheme word (``Bearer``), stripped, and escaped as ``repr`` shows it."""
    forms: set[str] = set()
    for value in values:
        token = value.split(" ", 1)[1] if " " in value.strip() else value
        for form in (value, token, value.strip(), token.strip()):
            forms.add(form)
            forms.add(repr(form)[1:-1])
    return tuple(sorted((f for f in forms if len(f.strip()) >= _SHORTEST_SECRET), key=len, reverse=True))


def without_secrets(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` without URL secrets and without any of ``secrets`` (see :func:`secret_forms`)."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return without_url_secrets(text)


def exception_attributes(exception: BaseException, secrets: tuple[str, ...] = ()) -> dict[str, str]:
    """The message and stack trace of ``exception`` for a span's exception event, without secrets."""
    stacktrace = "".join(traceback.format_exception(exception))
    return {
        n.EXCEPTION_MESSAGE: without_secrets(str(exception), secrets),
        n.EXCEPTION_STACKTRACE: without_secrets(stacktrace, secrets),
    }
