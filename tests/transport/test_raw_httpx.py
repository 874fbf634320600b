"""Raw httpx/httpx2 clients through the wrappers: pass-through, encodings, stream endings, failures."""

from __future__ import annotations

import gc
import gzip
import json
import zlib
from decimal import Decimal
from typing import Any

import brotli
import httpx
import httpx2
import pytest
import zstandard

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans

M = Decimal(1_000_000)
CHAT_URL = "https://api.openai.com/v1/chat/completions"
REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
LIBRARIES = [httpx2, httpx]


def gpt4o(prompt: int, completion: int) -> Decimal:
    return (prompt * Decimal("2.50") + completion * Decimal("10.00")) / M


def metered(library: Any, handler: Any, tracer_provider: Any, meter_provider: Any) -> Any:
    transport = llmmeter.MeteredTransport(
        library.MockTransport(handler), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    return library.Client(transport=transport)


@pytest.mark.parametrize("library", LIBRARIES, ids=["httpx2", "httpx"])
def test_non_llm_traffic_passes_untouched_without_span(
    library, tracer_provider, meter_provider, span_exporter
):
    """A request that is not an LLM call gets no span and its response stream is not wrapped."""
    original = library.ByteStream(b"plain")

    def handler(request):
        return library.Response(200, stream=original)

    transport = llmmeter.MeteredTransport(
        library.MockTransport(handler), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    response = transport.handle_request(library.Request("GET", "https://example.com/v1/chat/completions"))

    assert response.stream is original
    assert span_exporter.get_finished_spans() == ()


@pytest.mark.parametrize("library", LIBRARIES, ids=["httpx2", "httpx"])
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_compressed_body_is_decoded_for_parsing_only(library, encoding, tracer_provider, meter_provider):
    """A compressed body is priced from its decoded copy; the caller gets what it gets without llmmeter.

    llmmeter reads the body as the client does: an encoding the client leaves undecoded (httpx2
    has no zstd decoder) gives the caller compressed bytes, and llmmeter no usage either."""
    body = json.dumps(fakes.chat_completion(prompt_tokens=1000, completion_tokens=10)).encode()
    compress = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "br": brotli.compress,
        "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    }[encoding]
    wire = compress(body)

    def handler(request):
        return library.Response(
            200, headers={"content-encoding": encoding, "content-type": "application/json"}, content=wire
        )

    bare = library.Client(transport=library.MockTransport(handler)).post(CHAT_URL, json=REQUEST)
    client = metered(library, handler, tracer_provider, meter_provider)
    with record_calls() as calls:
        response = client.post(CHAT_URL, json=REQUEST)

    assert response.content == bare.content
    assert response.headers == bare.headers
    (record,) = calls
    if bare.content == body:
        assert record.cost.total == gpt4o(1000, 10)
    else:
        assert record.cost.status == "no_usage"


def test_corrupt_gzip_reaches_caller_as_without_llmmeter(tracer_provider, meter_provider):
    """A corrupt gzip body fails in the caller exactly as it would unmetered, and is still recorded once."""

    def handler(request):
        return httpx2.Response(200, headers={"content-encoding": "gzip"}, content=b"\x1f\x8bnot-gzip-at-all")

    bare = httpx2.Client(transport=httpx2.MockTransport(handler))
    with pytest.raises(httpx2.DecodingError) as bare_error:
        bare.post(CHAT_URL, json=REQUEST)

    client = metered(httpx2, handler, tracer_provider, meter_provider)
    with record_calls() as calls, pytest.raises(httpx2.DecodingError) as metered_error:
        client.post(CHAT_URL, json=REQUEST)

    assert str(metered_error.value) == str(bare_error.value)
    (record,) = calls
    assert record.cost.status == "no_usage"


@pytest.mark.parametrize(
    "body", [b"", b"not json", b'{"usage": "many"}', b'{"usage": {"prompt_tokens": -5}}', b"[1,2]"]
)
def test_malformed_body_passes_through_and_records_what_it_can(body, tracer_provider, meter_provider):
    """A malformed provider body reaches the caller byte for byte; llmmeter records the call without usage."""

    def handler(request):
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=body)

    client = metered(httpx2, handler, tracer_provider, meter_provider)
    with record_calls() as calls:
        response = client.post(CHAT_URL, json=REQUEST)

    assert response.content == body
    (record,) = calls
    assert record.request_model == "gpt-4o"
    assert record.cost.total is None


def test_stream_abandoned_to_garbage_collector_is_recorded(tracer_provider, meter_provider):
    """A stream that is neither read to the end nor closed is finished when it is collected."""
    chunks = fakes.chat_stream(words=20)

    def handler(request):
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, stream=httpx2.ByteStream(b"".join(chunks))
        )

    client = metered(httpx2, handler, tracer_provider, meter_provider)
    with record_calls() as calls:
        request = client.build_request("POST", CHAT_URL, json={**REQUEST, "stream": True})
        response = client.send(request, stream=True)
        assert calls == []
        del response
        gc.collect()

    (record,) = calls
    assert record.ending == "abandoned"


def test_network_error_mid_stream_is_recorded_and_reraised(tracer_provider, meter_provider, span_exporter):
    """A read error in the middle of a stream reaches the caller unchanged and ends the record as an error."""
    chunks = fakes.chat_stream(words=5)

    class Broken(httpx2.SyncByteStream):
        def __iter__(self):
            yield from chunks[:3]
            raise httpx2.ReadError("connection reset")

    def handler(request):
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=Broken())

    client = metered(httpx2, handler, tracer_provider, meter_provider)
    with record_calls() as calls:
        with (
            client.stream("POST", CHAT_URL, json={**REQUEST, "stream": True}) as response,
            pytest.raises(httpx2.ReadError, match="connection reset"),
        ):
            for _ in response.iter_bytes():
                pass

    (record,) = calls
    assert record.ending == "error"
    assert record.error_type == "ReadError"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["llmmeter.stream.ending"] == "error"


def test_close_is_forwarded_to_the_inner_stream(tracer_provider, meter_provider):
    """Closing the response early closes the provider's stream exactly once and ends the record."""
    closes: list[str] = []
    chunks = fakes.chat_stream(words=10)

    class Counted(httpx2.SyncByteStream):
        def __iter__(self):
            yield from chunks

        def close(self):
            closes.append("closed")

    def handler(request):
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=Counted())

    client = metered(httpx2, handler, tracer_provider, meter_provider)
    with record_calls() as calls:
        with client.stream("POST", CHAT_URL, json={**REQUEST, "stream": True}) as response:
            next(response.iter_raw())

    assert closes == ["closed"]
    (record,) = calls
    assert record.ending == "closed_early"


def test_unknown_model_is_recorded_without_cost_and_warned_once(
    tracer_provider, meter_provider, span_exporter, caplog
):
    """An unknown model keeps its tokens, has no cost attribute, status unknown_model, and one warning."""
    body = fakes.chat_completion(model="my-private-model-7b", prompt_tokens=10, completion_tokens=5)
    client = metered(httpx2, fakes.mock_handler(httpx2, fakes.Reply(body)), tracer_provider, meter_provider)

    with caplog.at_level("WARNING", logger="llmmeter"):
        for _ in range(3):
            client.post(
                "http://127.0.0.1:8000/v1/chat/completions", json={**REQUEST, "model": "my-private-model-7b"}
            )

    spans = llm_spans(span_exporter.get_finished_spans())
    assert len(spans) == 3
    assert all(span.attributes["llmmeter.cost.status"] == "unknown_model" for span in spans)
    assert all("gen_ai.usage.cost.amount" not in span.attributes for span in spans)
    assert spans[0].attributes["gen_ai.usage.input_tokens"] == 10
    warnings = [r for r in caplog.records if "my-private-model-7b" in r.getMessage()]
    assert len(warnings) == 1


def test_wrapping_a_metered_transport_again_meters_once(tracer_provider, meter_provider):
    """A MeteredTransport around a MeteredTransport still yields one record per call."""
    inner = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, fakes.Reply(fakes.chat_completion()))),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    client = httpx2.Client(transport=llmmeter.MeteredTransport(inner))

    with record_calls() as calls:
        client.post(CHAT_URL, json=REQUEST)

    assert len(calls) == 1


@pytest.mark.parametrize("library", LIBRARIES, ids=["httpx2", "httpx"])
def test_meter_client_wraps_an_existing_client_once(library, tracer_provider, meter_provider):
    """meter_client puts the wrapper into an existing client, returns it, and is idempotent."""
    client = library.Client(
        transport=library.MockTransport(fakes.mock_handler(library, fakes.Reply(fakes.chat_completion())))
    )

    same = llmmeter.meter_client(client, tracer_provider=tracer_provider, meter_provider=meter_provider)
    llmmeter.meter_client(client)

    assert same is client
    assert isinstance(client._transport, llmmeter.MeteredTransport)
    assert not isinstance(client._transport.inner, llmmeter.MeteredTransport)
    with record_calls() as calls:
        client.post(CHAT_URL, json=REQUEST)
    assert len(calls) == 1


async def test_meter_client_handles_async_clients(tracer_provider, meter_provider):
    """meter_client on an AsyncClient installs an AsyncMeteredTransport."""
    client = httpx2.AsyncClient(
        transport=httpx2.MockTransport(fakes.mock_handler(httpx2, fakes.Reply(fakes.chat_completion())))
    )

    llmmeter.meter_client(client, tracer_provider=tracer_provider, meter_provider=meter_provider)

    assert isinstance(client._transport, llmmeter.AsyncMeteredTransport)
    assert isinstance(client._transport, httpx2.AsyncBaseTransport)
    with record_calls() as calls:
        await client.post(CHAT_URL, json=REQUEST)
    assert calls[0].cost.total == gpt4o(100, 20)


def test_wrapper_is_an_instance_of_the_wrapped_library_base_transport():
    """The wrapper of an httpx transport is an httpx.BaseTransport; of an httpx2 one, an httpx2 one."""
    plain = llmmeter.MeteredTransport(httpx.MockTransport(lambda r: httpx.Response(200)))
    modern = llmmeter.MeteredTransport(httpx2.MockTransport(lambda r: httpx2.Response(200)))

    assert isinstance(plain, httpx.BaseTransport)
    assert not isinstance(plain, httpx2.BaseTransport)
    assert isinstance(modern, httpx2.BaseTransport)
    assert isinstance(modern, llmmeter.MeteredTransport)


def test_wrapping_something_that_is_not_a_transport_fails_clearly():
    """A wrapper around a non-transport raises a ConfigurationError naming the method it needs."""
    with pytest.raises(llmmeter.ConfigurationError, match="handle_request"):
        llmmeter.MeteredTransport(object())


@pytest.mark.parametrize("library", LIBRARIES, ids=["httpx2", "httpx"])
@pytest.mark.parametrize("token", ["none", "utf-8", "text", "identity, none"])
def test_encoding_tokens_the_client_skips_are_skipped_too(library, token, tracer_provider, meter_provider):
    """A Content-Encoding token the client does not decode leaves the body as it is for the caller
    (readable JSON), and llmmeter reads it the same way: priced, not no_usage."""
    body = json.dumps(fakes.chat_completion(prompt_tokens=1000, completion_tokens=10)).encode()

    def handler(request):
        return library.Response(
            200,
            headers={"content-encoding": token, "content-type": "application/json"},
            stream=fakes._ChunkStream(library, [body[:40], body[40:]]),
        )

    client = metered(library, handler, tracer_provider, meter_provider)
    with record_calls() as calls:
        response = client.post(CHAT_URL, json=REQUEST)

    assert response.json()["usage"]["prompt_tokens"] == 1000
    (record,) = calls
    assert record.cost.total == gpt4o(1000, 10)
