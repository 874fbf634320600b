"""Secrets never reach telemetry; captured content goes through the redaction hook, which cannot break a call.

Every credential a provider call can carry (Authorization, api-key and x-api-key headers, key-bearing
query strings, credentials in the URL) is sent through a metered client in successful, streamed,
failed and broken calls, with content capture on and off; then every exported span (attributes,
events, status), every metric point and every log record llmmeter wrote is searched for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmmeter
from llmmeter._telemetry._scrub import without_url_secrets
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans

SECRET = "SECRET-c0ffee-5ecret"
"""Part of every credential below: whatever the form, this text must not be exported."""


def answer(request: Any, library: Any) -> Any:
    """Success, stream, an error status or a broken connection, as the request's model asks."""
    body = json.loads(request.read() or b"{}")
    model = body.get("model", "")
    if model == "broken":
        raise library.ConnectError("connection reset by peer", request=request)
    if model == "refused":
        return library.Response(
            401, json={"error": {"message": "invalid key", "type": "invalid_request_error"}}
        )
    anthropic_api = request.url.path.endswith("/messages")
    if body.get("stream"):
        chunks = fakes.anthropic_stream(model=model) if anthropic_api else fakes.chat_stream(model=model)
        return library.Response(200, headers={"content-type": "text/event-stream"}, content=b"".join(chunks))
    return library.Response(
        200,
        json=fakes.anthropic_message(model=model) if anthropic_api else fakes.chat_completion(model=model),
    )


def _transport(library: Any, providers: dict) -> Any:
    return llmmeter.MeteredTransport(
        library.MockTransport(lambda request: answer(request, library)), **providers
    )


def _attempts(call: Callable[[str, bool], Any], errors: tuple[type[BaseException], ...]) -> None:
    """A priced call, an unknown model, a stream, an error status and a broken connection."""
    for model, stream in [
        ("gpt-4o", False),
        ("private-model-x", False),
        ("gpt-4o", True),
        ("refused", False),
        ("broken", False),
    ]:
        with contextlib.suppress(*errors):
            call(model, stream)


def authorization_header(providers: dict) -> None:
    """The openai SDK: ``Authorization: Bearer <key>``."""
    with httpx2.Client(transport=_transport(httpx2, providers)) as http:
        client = openai.OpenAI(api_key=f"sk-proj-{SECRET}", http_client=http, max_retries=0)

        def call(model, stream):
            result = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], stream=stream
            )
            return list(result) if stream else result

        _attempts(call, (openai.APIError,))


def api_key_header(providers: dict) -> None:
    """The Azure OpenAI client: ``api-key: <key>`` (and ``api-version`` in the query)."""
    with httpx2.Client(transport=_transport(httpx2, providers)) as http:
        client = openai.AzureOpenAI(
            api_key=SECRET,
            azure_endpoint="https://acme.openai.azure.com",
            api_version="2024-10-21",
            http_client=http,
            max_retries=0,
        )

        def call(model, stream):
            result = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], stream=stream
            )
            return list(result) if stream else result

        _attempts(call, (openai.APIError,))


def x_api_key_header(providers: dict) -> None:
    """The anthropic SDK: ``x-api-key: <key>``."""
    with httpx2.Client(transport=_transport(httpx2, providers)) as http:
        client = anthropic.Anthropic(
            api_key=f"sk-ant-{SECRET}", http_client=http, max_retries=0, open_telemetry={"traces": False}
        )

        def call(model, stream):
            result = client.messages.create(
                model=model, max_tokens=10, messages=[{"role": "user", "content": "hi"}], stream=stream
            )
            return list(result) if stream else result

        _attempts(call, (anthropic.APIError,))


def _raw(library: Any, url: str, providers: dict) -> None:
    with library.Client(transport=_transport(library, providers)) as client:

        def call(model, stream):
            return client.post(
                url, json={"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
            )

        _attempts(call, (library.TransportError,))


def key_query_string(providers: dict) -> None:
    """A raw httpx2 client with ``?key=<key>`` (Gemini's OpenAI-compatible endpoint)."""
    _raw(
        httpx2,
        f"https://generativelanguage.googleapis.com/v1beta/openai/chat/completions?key={SECRET}",
        providers,
    )


def api_key_query_string(providers: dict) -> None:
    """A raw legacy httpx client with ``?api-key=<key>`` next to ``api-version``."""
    url = f"https://acme.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21&api-key={SECRET}"
    _raw(httpx, url, providers)


def url_credentials(providers: dict) -> None:
    """A raw httpx2 client with ``user:<key>@`` in the URL."""
    _raw(httpx2, f"https://user:{SECRET}@api.openai.com/v1/chat/completions", providers)


CARRIERS = [
    authorization_header,
    api_key_header,
    x_api_key_header,
    key_query_string,
    api_key_query_string,
    url_credentials,
]


def exported_text(span_exporter: Any, metric_reader: Any, caplog: Any) -> str:
    """Every span, metric point and llmmeter log record, as text."""
    spans = [span.to_json() for span in span_exporter.get_finished_spans()]
    formatter = logging.Formatter("%(name)s %(message)s")
    logs = [formatter.format(record) for record in caplog.records if record.name.startswith("llmmeter")]
    return "\n".join([*spans, metric_reader.get_metrics_data().to_json(), *logs])


@pytest.mark.parametrize("capture_content", [False, True], ids=["content-off", "content-on"])
@pytest.mark.parametrize("carrier", CARRIERS, ids=lambda carrier: carrier.__name__)
def test_credentials_never_reach_spans_metrics_or_logs(
    carrier, capture_content, tracer_provider, meter_provider, span_exporter, metric_reader, caplog
):
    """No credential, in any form, appears in anything llmmeter exports or logs."""
    llmmeter.configure(capture_content=capture_content)

    with caplog.at_level(logging.DEBUG), record_calls() as calls:
        carrier({"tracer_provider": tracer_provider, "meter_provider": meter_provider})

    assert len(calls) == 5
    assert len(llm_spans(span_exporter.get_finished_spans())) == 5
    assert any(record.name == "llmmeter" for record in caplog.records)  # the unknown model was logged
    text = exported_text(span_exporter, metric_reader, caplog)
    assert SECRET not in text
    assert "Bearer" not in text


def _inner_raising_for_status(library: Any) -> Any:
    """A transport inside the metered one that turns error statuses into exceptions (a retry layer)."""

    def handler(request):
        response = library.Response(403, request=request, json={"error": "forbidden"})
        response.raise_for_status()

    return library.MockTransport(handler)


@pytest.mark.parametrize("library", [httpx2, httpx])
def test_key_in_an_inner_transport_error_message_is_not_exported(library, tracer_provider, span_exporter):
    """An exception quoting the request URL reaches the caller intact; the span gets it without the query."""
    transport = llmmeter.MeteredTransport(_inner_raising_for_status(library), tracer_provider=tracer_provider)
    url = f"https://generativelanguage.googleapis.com/v1beta/openai/chat/completions?key={SECRET}"

    with library.Client(transport=transport) as client, pytest.raises(library.HTTPStatusError) as raised:
        client.post(url, json={"model": "gpt-4o", "messages": []})

    assert SECRET in str(raised.value)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "HTTPStatusError"
    (event,) = span.events
    assert event.attributes["exception.type"].endswith("HTTPStatusError")
    assert (
        "generativelanguage.googleapis.com/v1beta/openai/chat/completions"
        in event.attributes["exception.message"]
    )
    assert SECRET not in span.to_json()


url_parts = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._~%", min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "wss"]),
    host=url_parts,
    path=st.lists(url_parts, max_size=4).map("/".join),
    user=st.one_of(st.none(), url_parts),
    query=st.lists(st.tuples(url_parts, url_parts), min_size=1, max_size=4),
    quote=st.sampled_from(["'", '"', " ", "<", ""]),
)
def test_urls_in_exception_text_lose_credentials_and_query(scheme, host, path, user, query, quote):
    """Any URL quoted in an exception message keeps scheme, host and path, never its query or credentials."""
    userinfo = f"{user}:{SECRET}@" if user else ""
    url = f"{scheme}://{userinfo}{host}/{path}?" + "&".join(f"{key}={SECRET}{value}" for key, value in query)
    text = f"Client error for url {quote}{url}{quote}\nFor more information check: https://example.com/help"

    scrubbed = without_url_secrets(text)

    assert SECRET not in scrubbed
    assert f"{scheme}://{host}/{path}" in scrubbed
    assert scrubbed.endswith("https://example.com/help")


def chat(tracer_provider: Any, **reply: Any) -> openai.OpenAI:
    """A metered openai client whose server answers every call with the same completion."""
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, fakes.Reply(fakes.chat_completion(**reply)))),
        tracer_provider=tracer_provider,
    )
    return openai.OpenAI(api_key="sk-test", http_client=httpx2.Client(transport=transport))


def test_redact_returning_none_drops_the_content(tracer_provider, span_exporter):
    """A redact hook returning None keeps prompts and completions off the span."""
    llmmeter.configure(capture_content=True, redact=lambda value: None)
    client = chat(tracer_provider, content="the completion")

    with client:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "the prompt"}])

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert "gen_ai.input.messages" not in span.attributes
    assert "gen_ai.output.messages" not in span.attributes
    assert span.attributes["gen_ai.usage.input_tokens"] == 100


def test_redact_sees_prompts_and_completions_and_its_result_is_written(tracer_provider, span_exporter):
    """The hook gets the prompt and the completion, and what it returns is what the span holds."""
    seen: list[Any] = []

    def redact(value):
        seen.append(value)
        return "[redacted]"

    llmmeter.configure(capture_content=True, redact=redact)
    client = chat(tracer_provider, content="the completion")

    with client:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "the prompt"}])

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.input.messages"] == "[redacted]"
    assert span.attributes["gen_ai.output.messages"] == "[redacted]"
    assert "the prompt" in json.dumps(seen)
    assert "the completion" in json.dumps(seen)


def test_redact_applies_to_streamed_completions(tracer_provider, span_exporter):
    """A streamed completion, assembled from its deltas, goes through the hook too."""
    llmmeter.configure(
        capture_content=True, redact=lambda value: json.dumps(value).replace("word1", "[redacted]")
    )
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, fakes.Reply(chunks=fakes.chat_stream(words=3)))),
        tracer_provider=tracer_provider,
    )

    with openai.OpenAI(api_key="sk-test", http_client=httpx2.Client(transport=transport)) as client:
        list(
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert "word0" in span.attributes["gen_ai.output.messages"]
    assert "word1" not in span.attributes["gen_ai.output.messages"]
    assert "[redacted]" in span.attributes["gen_ai.output.messages"]


def test_redact_raising_does_not_break_the_call(tracer_provider, span_exporter, caplog):
    """A hook that raises: the call succeeds, is recorded and priced, and nothing unredacted is written."""

    def redact(value):
        raise ValueError(f"cannot redact {value}")

    llmmeter.configure(capture_content=True, redact=redact)
    client = chat(tracer_provider, content="private completion")

    with client, record_calls() as calls, caplog.at_level(logging.WARNING, logger="llmmeter"):
        result = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "private prompt"}]
        )

    assert result.choices[0].message.content == "private completion"
    (record,) = calls
    assert record.cost.status == "ok"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert "gen_ai.input.messages" not in span.attributes
    assert "gen_ai.output.messages" not in span.attributes
    assert "private" not in span.to_json() + caplog.text
    assert "ValueError" in caplog.text


# --- credential header values in exception text ----------------------------------------------------

NEWLINE_KEY = f"sk-{SECRET}\n"
"""A key pasted with its line ending: h11 refuses the header and quotes it in its error."""


def _sdk_calls(base_url: str, library: Any) -> list[tuple[str, Callable[[Any], object]]]:
    def openai_call(transport: Any) -> object:
        client = openai.OpenAI(
            api_key=NEWLINE_KEY,
            base_url=f"{base_url}/v1",
            http_client=library.Client(transport=transport),
            max_retries=0,
        )
        return client.chat.completions.create(model="gpt-4o", messages=[])

    def azure_call(transport: Any) -> object:
        client = openai.AzureOpenAI(
            api_key=NEWLINE_KEY,
            api_version="2024-10-21",
            azure_endpoint=base_url,
            http_client=library.Client(transport=transport),
            max_retries=0,
        )
        return client.chat.completions.create(model="prod-gpt4o", messages=[])

    def anthropic_call(transport: Any) -> object:
        client = anthropic.Anthropic(
            api_key=NEWLINE_KEY,
            base_url=base_url,
            http_client=httpx2.Client(transport=transport),
            max_retries=0,
            open_telemetry={"traces": False},
        )
        return client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=[])

    calls = [("openai", openai_call), ("azure", azure_call)]
    if library is httpx2:
        calls.append(("anthropic", anthropic_call))
    return calls


@pytest.mark.parametrize("library", [httpx2, httpx], ids=["httpx2", "httpx"])
def test_a_key_quoted_by_the_http_library_never_reaches_the_span(library, tracer_provider, span_exporter):
    """h11 refuses a key with a trailing newline and quotes the header in its error: the caller gets
    that error as without llmmeter; the span's exception event has the key replaced."""
    with fakes.LoopbackServer(lambda method, path, body: fakes.Reply(fakes.chat_completion())) as server:
        for name, call in _sdk_calls(server.url, library):
            span_exporter.clear()
            transport = llmmeter.MeteredTransport(library.HTTPTransport(), tracer_provider=tracer_provider)
            with pytest.raises((openai.APIConnectionError, anthropic.APIConnectionError)) as raised:
                call(transport)
            cause = raised.value.__cause__ or raised.value
            assert SECRET in str(cause), name  # the library really quoted it
            exported = "".join(span.to_json() for span in span_exporter.get_finished_spans())
            assert "exception.stacktrace" in exported, name
            assert SECRET not in exported, name
            assert "[REDACTED]" in exported, name


@pytest.mark.parametrize("header", ["x-api-key", "api-key", "authorization"])
def test_an_inner_error_quoting_the_request_headers_is_scrubbed(header, tracer_provider, span_exporter):
    """An inner transport whose error quotes the request headers: each credential value is replaced."""

    def handler(request):
        raise httpx2.ConnectError(f"refused while sending {dict(request.headers)!r}")

    transport = llmmeter.MeteredTransport(httpx2.MockTransport(handler), tracer_provider=tracer_provider)
    value = f"Bearer {SECRET}" if header == "authorization" else SECRET
    with httpx2.Client(transport=transport) as client, pytest.raises(httpx2.ConnectError):
        client.post(
            "https://api.anthropic.com/v1/messages",
            headers={header: value},
            json={"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": []},
        )

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert SECRET not in span.to_json()
    assert "[REDACTED]" in span.events[0].attributes["exception.message"]


def test_a_relative_path_with_a_key_loses_its_query():
    """``/path?key=...`` without a scheme or host loses its query too; file paths are left alone."""
    text = f'GET /v1beta/models?key={SECRET} failed in File "/app/main.py", line 3'
    assert without_url_secrets(text) == 'GET /v1beta/models failed in File "/app/main.py", line 3'
