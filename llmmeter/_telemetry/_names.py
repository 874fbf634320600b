"""Every telemetry name llmmeter writes, in one place, for both generations of the conventions.

By default GenAI names follow the OpenTelemetry semantic conventions as released in
semantic-conventions v1.41.1. With ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``
llmmeter writes the names of the standalone open-telemetry/semantic-conventions-genai repository
instead, as its registry stands in its dev-channel schema ``gen-ai-dev/1.42.0-dev``: the names marked
"latest" below were read from its ``docs/gen-ai/client-inference.md``,
``docs/gen-ai/gen-ai-token-metrics.md`` and ``model/gen-ai/token-metrics.yaml`` (stored copies at
commits 024a4f94, 066d4a7f and 9b2ce3b4, whose metric definitions agree). ``_semconv`` picks one
generation, once, when metering is first set up.

Names are spelled out here rather than imported from ``opentelemetry-semantic-conventions``, whose
gen_ai constants are frozen and deprecated. The cost attributes and the cost histogram follow the
open proposal for the conventions (semantic-conventions-genai PR #443, read in the proposal branch's
``docs/gen-ai/gen-ai-metrics.md``, elang2/semantic-conventions-genai at 80325bbd); ``llmmeter.*``
names are llmmeter's own.
"""

from __future__ import annotations

from typing import Final

# --- span and metric attributes (gen_ai.*) -------------------------------------------------------
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_STREAM: Final = "gen_ai.request.stream"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_TOP_K: Final = "gen_ai.request.top_k"
REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
TOKEN_TYPE: Final = "gen_ai.token.type"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
AGENT_NAME: Final = "gen_ai.agent.name"
WORKFLOW_NAME: Final = "gen_ai.workflow.name"

USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"

INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
"""Captured content follows the conventions' JSON schemas (``gen-ai-input-messages.json``,
``gen-ai-output-messages.json``, ``gen-ai-system-instructions.json``,
``gen-ai-tool-definitions.json``): messages of ``role`` and ``parts``, each part a ``{"type": ...}``
object; tool definitions of ``type``, ``name``, ``description``, ``parameters``. On spans they are
JSON strings, on events structured values."""

INFERENCE_EVENT: Final = "gen_ai.client.inference.operation.details"
"""The event (a log record with this ``event_name``) written for each call when events are on, in
the span's context, with the span's request, response, usage and cost attributes, and the content
structured (semantic-conventions v1.41.1 ``docs/gen-ai/gen-ai-events.md``; the same in
semantic-conventions-genai)."""
PART_TEXT: Final = "text"
PART_TOOL_CALL: Final = "tool_call"
PART_TOOL_CALL_RESPONSE: Final = "tool_call_response"
PART_REASONING: Final = "reasoning"
PART_URI: Final = "uri"
PART_BLOB: Final = "blob"
ROLE_SYSTEM: Final = "system"
ROLE_USER: Final = "user"
ROLE_ASSISTANT: Final = "assistant"
ROLE_TOOL: Final = "tool"
FINISH_STOP: Final = "stop"
FINISH_LENGTH: Final = "length"
FINISH_CONTENT_FILTER: Final = "content_filter"
FINISH_TOOL_CALL: Final = "tool_call"
FINISH_ERROR: Final = "error"

# --- latest (semantic-conventions-genai) span attributes ------------------------------------
USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
"""Latest name of ``USAGE_CACHE_CREATION_INPUT_TOKENS``."""
USAGE_TEXT_INPUT_TOKENS: Final = "gen_ai.usage.text.input_tokens"
USAGE_TEXT_OUTPUT_TOKENS: Final = "gen_ai.usage.text.output_tokens"
USAGE_AUDIO_INPUT_TOKENS: Final = "gen_ai.usage.audio.input_tokens"
USAGE_AUDIO_OUTPUT_TOKENS: Final = "gen_ai.usage.audio.output_tokens"
USAGE_AUDIO_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.audio.cache_read.input_tokens"
USAGE_IMAGE_INPUT_TOKENS: Final = "gen_ai.usage.image.input_tokens"
USAGE_IMAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.image.output_tokens"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
"""Seconds from the request until the first chunk of a streamed response (latest conventions)."""
TOKEN_MODALITY: Final = "gen_ai.token.modality"
MODALITY_TEXT: Final = "text"
MODALITY_AUDIO: Final = "audio"
MODALITY_IMAGE: Final = "image"
MODALITY_UNKNOWN: Final = "unknown"

COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
COST_SOURCE: Final = "gen_ai.usage.cost.source"
COST_SOURCE_LOCAL: Final = "local"
COST_SOURCE_PROVIDER: Final = "provider"
"""The response stated the cost (a gateway: OpenRouter's ``usage.cost``, LiteLLM proxy's header)."""

SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
ERROR_TYPE_OTHER: Final = "_OTHER"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"

OUTPUT_TYPE: Final = "gen_ai.output.type"
"""The output modality requested: the conventions' ``image``, ``speech``, ``text`` (media endpoints)."""
OUTPUT_TYPE_IMAGE: Final = "image"
OUTPUT_TYPE_SPEECH: Final = "speech"
OUTPUT_TYPE_TEXT: Final = "text"

OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"

# --- llmmeter's own attributes --------------------------------------------------------------------
COST_COMPONENT_PREFIX: Final = "llmmeter.cost."
COST_STATUS: Final = "llmmeter.cost.status"
COST_LOCAL_AMOUNT: Final = "llmmeter.cost.local_amount"
"""Beside a cost the provider stated: llmmeter's own estimate from its price table, in USD."""
COST_REASON: Final = "llmmeter.cost.reason"
"""Why a cost is ``estimated``, or why a call through a gateway that reports costs was priced locally."""
PRICING_MODEL: Final = "llmmeter.pricing.model"
USAGE_INVALID: Final = "llmmeter.usage.invalid"
"""The usage field the provider reported a count for that cannot be one (see ``Usage.invalid``)."""
PRICING_SOURCE: Final = "llmmeter.pricing.source"
CAPTURE: Final = "llmmeter.capture"
"""Which capture point made the span: ``http``, ``botocore``, ``langchain`` or ``realtime``."""
CAPTURE_LANGCHAIN: Final = "langchain"
CAPTURE_BOTOCORE: Final = "botocore"
BEDROCK_LATENCY_MS: Final = "llmmeter.bedrock.latency_ms"
"""The latency Amazon Bedrock reported for the call (Converse ``metrics.latencyMs``), in ms."""
BEDROCK_SERVICE_TIER: Final = "llmmeter.bedrock.service_tier"
"""The processing tier Amazon Bedrock reported serving the call with (``priority``, ``flex``...)."""
STREAM_ENDING: Final = "llmmeter.stream.ending"
"""How a response body ended: ``complete``, ``closed_early``, ``abandoned``, ``error``."""
TIME_TO_FIRST_CHUNK: Final = "llmmeter.time_to_first_chunk"
COUNTED_BY: Final = "llmmeter.counted_by"
"""On a span that does not carry its call's cost and usage: which span does (see ``_call``)."""
COUNTED_BY_HTTP: Final = "http"
"""A LangChain model run whose HTTP call was metered too: its HTTP span carries the cost."""
COUNTED_BY_PARENT: Final = "parent"
"""An HTTP call inside the anthropic SDK's call span: that span carries the usage and the cost."""
LANGCHAIN_CACHE_HIT: Final = "llmmeter.langchain.cache_hit"
"""On a LangChain model span answered from LangChain's LLM cache: true (the call cost nothing)."""

# --- Realtime sessions (one span per WebSocket session; one ``chat`` span per response under it) ---
CAPTURE_REALTIME: Final = "realtime"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
"""On a Realtime session's span and its responses' spans: the session id (``sess_...``)."""
COUNTED_BY_RESPONSES: Final = "responses"
"""A Realtime session: each response's span under it carries that response's cost and usage."""
REALTIME_RESPONSES: Final = "llmmeter.realtime.responses"
"""On a session's span: how many responses it had (each one a child span)."""
REALTIME_COST: Final = "llmmeter.realtime.cost.amount"
"""On a session's span: the sum of its responses' costs in USD, a summary (not ``gen_ai.usage.cost.*``,
so summing costs over a trace still counts each response once). Absent when none was priced."""
REALTIME_INPUT_TOKENS: Final = "llmmeter.realtime.input_tokens"
REALTIME_OUTPUT_TOKENS: Final = "llmmeter.realtime.output_tokens"
REALTIME_ERRORS: Final = "llmmeter.realtime.errors"
"""On a session's span: how many ``error`` events the server sent."""
REALTIME_ERROR_EVENT: Final = "llmmeter.realtime.error"
"""Span event for each server ``error`` event, with ``error.type`` and the error's code."""
REALTIME_ERROR_CODE: Final = "llmmeter.realtime.error.code"
# --- budgets -------------------------------------------------------------------------------------
BUDGET_REFUSED_EVENT: Final = "llmmeter.budget.refused"
"""Span event on the span of a request a budget refused (before it was sent), or on a Realtime
session's span for a refused ``response.create``."""
BUDGET_NAME: Final = "llmmeter.budget.name"
"""A budget's name: the user's, so one time series per name on the budget gauges."""
BUDGET_PERIOD: Final = "llmmeter.budget.period"
"""``hour``, ``day``, ``week``, ``month`` or ``none``."""
BUDGET_LIMIT: Final = "llmmeter.budget.limit"
BUDGET_SPENT: Final = "llmmeter.budget.spent"
BUDGET_RESERVED: Final = "llmmeter.budget.reserved"
BUDGET_REQUEST_COST: Final = "llmmeter.budget.request_cost"
"""On a refusal: the worst-case cost of the refused request, in USD."""
BUDGET_UNAVAILABLE: Final = "llmmeter.budget.unavailable"
"""On a refusal: true when the store could not be reached (``on_store_error="refuse"``)."""
METRIC_BUDGET_SPENT: Final = "llmmeter.budget.spent"
"""Gauge, USD: the spend of each named budget's current window, by ``llmmeter.budget.name``."""
METRIC_BUDGET_RESERVED: Final = "llmmeter.budget.reserved"
"""Gauge, USD: the worst-case cost reserved by requests in flight, by ``llmmeter.budget.name``."""
# --- media endpoints (images, audio, video): the conventions have no names for these yet ----------
REQUEST_IMAGE_SIZE: Final = "llmmeter.request.image.size"
"""The requested image size (``1024x1536``, ``auto``); the count is ``gen_ai.request.choice.count``."""
REQUEST_IMAGE_QUALITY: Final = "llmmeter.request.image.quality"
REQUEST_IMAGE_TOOL_MODEL: Final = "llmmeter.request.image_generation.model"
"""The image model a Responses API ``image_generation`` tool names (its usage is priced with it)."""
REQUEST_VIDEO_SECONDS: Final = "llmmeter.request.video.seconds"
REQUEST_VIDEO_SIZE: Final = "llmmeter.request.video.size"
REQUEST_AUDIO_FORMAT: Final = "llmmeter.request.audio.format"
"""A transcription's ``response_format`` or a speech's ``response_format`` (``mp3``, ``verbose_json``)."""
USAGE_SECONDS: Final = "llmmeter.usage.seconds"
"""Seconds billed: of generated video, or of transcribed audio."""
USAGE_CHARACTERS: Final = "llmmeter.usage.characters"
"""Characters of input billed (text to speech priced per character)."""
USAGE_IMAGES: Final = "llmmeter.usage.images"
"""Images returned."""

# --- LangChain run attributes (llmmeter-langchain) ---------------------------------------------------
LANGCHAIN_RUN_ID: Final = "langchain.run_id"
LANGCHAIN_TAGS: Final = "langchain.tags"
LANGCHAIN_METADATA_PREFIX: Final = "langchain.metadata."
"""Followed by a metadata key; only scalar metadata values are written."""

# --- operation names (gen_ai.operation.name values) ----------------------------------------------
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_EMBEDDINGS: Final = "embeddings"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_RETRIEVAL: Final = "retrieval"

# --- provider names (gen_ai.provider.name values) -------------------------------------------------
PROVIDER_OPENAI: Final = "openai"
PROVIDER_AZURE_OPENAI: Final = "azure.ai.openai"
PROVIDER_ANTHROPIC: Final = "anthropic"
PROVIDER_AZURE_AI_INFERENCE: Final = "azure.ai.inference"
PROVIDER_AWS_BEDROCK: Final = "aws.bedrock"
PROVIDER_GCP_GEMINI: Final = "gcp.gemini"
PROVIDER_GCP_VERTEX_AI: Final = "gcp.vertex_ai"
PROVIDER_COHERE: Final = "cohere"
PROVIDER_DEEPSEEK: Final = "deepseek"
PROVIDER_GROQ: Final = "groq"
PROVIDER_IBM_WATSONX: Final = "ibm.watsonx.ai"
PROVIDER_MISTRAL_AI: Final = "mistral_ai"
PROVIDER_OLLAMA: Final = "ollama"
"""Not a conventions value (Ollama has none): the name llmmeter reports for Ollama's native API."""
PROVIDER_PERPLEXITY: Final = "perplexity"
PROVIDER_X_AI: Final = "x_ai"
# Providers the conventions do not name (yet): the maker's name, in the conventions' style.
PROVIDER_OPENROUTER: Final = "openrouter"
PROVIDER_TOGETHER_AI: Final = "together_ai"
PROVIDER_FIREWORKS_AI: Final = "fireworks_ai"
PROVIDER_VOYAGE_AI: Final = "voyage_ai"
PROVIDER_WRITER: Final = "writer"
PROVIDER_CEREBRAS: Final = "cerebras"
PROVIDER_DEEPINFRA: Final = "deepinfra"
PROVIDER_SAMBANOVA: Final = "sambanova"
PROVIDER_NOVITA: Final = "novita"
PROVIDER_HYPERBOLIC: Final = "hyperbolic"
PROVIDER_NEBIUS: Final = "nebius"
PROVIDER_HUGGINGFACE: Final = "huggingface"
PROVIDER_MOONSHOT_AI: Final = "moonshot_ai"
PROVIDER_ZAI: Final = "zai"
PROVIDER_NVIDIA_NIM: Final = "nvidia_nim"
PROVIDER_GITHUB_MODELS: Final = "github_models"
PROVIDER_LM_STUDIO: Final = "lm_studio"

# --- metrics ---------------------------------------------------------------------------------------
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_COST: Final = "llmmeter.cost"
METRIC_TOKENS: Final = "llmmeter.tokens"
METRIC_CALLS: Final = "llmmeter.calls"
"""Calls by ``llmmeter.cost.status``: shows unknown models and missing usage, not an invisible $0."""

# latest (semantic-conventions-genai): per-operation histograms and usage counters
METRIC_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
METRIC_INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
METRIC_INFERENCE_OPERATION_INPUT_TOKENS: Final = "gen_ai.client.inference.operation.input_tokens"
METRIC_INFERENCE_OPERATION_OUTPUT_TOKENS: Final = "gen_ai.client.inference.operation.output_tokens"
METRIC_INFERENCE_USAGE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
METRIC_INFERENCE_USAGE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
METRIC_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS: Final = (
    "gen_ai.client.inference.usage.cache_read.input_tokens"
)
METRIC_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = (
    "gen_ai.client.inference.usage.cache_write.input_tokens"
)
METRIC_INFERENCE_USAGE_REASONING_OUTPUT_TOKENS: Final = (
    "gen_ai.client.inference.usage.reasoning.output_tokens"
)
METRIC_OPERATION_COST: Final = "gen_ai.client.operation.cost"
"""The proposed cost histogram (PR #443), written only with the latest conventions."""
COST_UNIT: Final = "{cost}"

TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"
TOKEN_TYPE_CACHE_READ: Final = "cache_read"
TOKEN_TYPE_CACHE_WRITE: Final = "cache_write"
TOKEN_TYPE_REASONING: Final = "reasoning"

# Advisory explicit bucket boundaries from the conventions.
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
CHUNK_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

COST_BUCKETS: Final = (0.001, 0.004, 0.016, 0.064, 0.256, 1.024, 4.096, 16.384, 65.536)
"""Advisory boundaries of ``gen_ai.client.operation.cost`` (PR #443), for US-dollar-scale amounts."""

INSTRUMENTATION_SCOPE: Final = "llmmeter"

SEMCONV_OPT_IN_ENV: Final = "OTEL_SEMCONV_STABILITY_OPT_IN"
SEMCONV_OPT_IN_GENAI_LATEST: Final = "gen_ai_latest_experimental"
SCHEMA_URL_V1_41_1: Final = "https://opentelemetry.io/schemas/1.41.1"
"""The schema of the default names (semantic-conventions v1.41.1)."""
SCHEMA_URL_GENAI_LATEST: Final = "https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev"
"""The schema of the latest names, as semantic-conventions-genai declares it: the top-level
``schema_url`` of its ``model/manifest.yaml`` (its releases are dev-channel tags ``vX.Y.Z-dev`` whose
schema lives under ``opentelemetry.io/schemas/gen-ai-dev/X.Y.Z-dev``, per its RELEASING.md)."""
