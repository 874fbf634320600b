"""Every telemetry name llmmeter writes, in one place.

GenAI names follow the OpenTelemetry semantic conventions as released in v1.41.1 (now kept in the
semantic-conventions-genai repository). They are spelled out here rather than imported from
``opentelemetry-semantic-conventions``, whose gen_ai constants are frozen and deprecated.
The cost attributes follow the open proposal for the conventions (PR #443); ``llmmeter.*`` names are
llmmeter's own.
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

COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
COST_SOURCE: Final = "gen_ai.usage.cost.source"
COST_SOURCE_LOCAL: Final = "local"

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
PRICING_MODEL: Final = "llmmeter.pricing.model"
USAGE_INVALID: Final = "llmmeter.usage.invalid"
"""The usage field the provider reported a count for that cannot be one (see ``Usage.invalid``)."""
PRICING_SOURCE: Final = "llmmeter.pricing.source"
CAPTURE: Final = "llmmeter.capture"
"""Which capture point made the span: ``http`` or ``langchain``."""
CAPTURE_LANGCHAIN: Final = "langchain"
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
PROVIDER_PERPLEXITY: Final = "perplexity"
PROVIDER_X_AI: Final = "x_ai"

# --- metrics ---------------------------------------------------------------------------------------
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_COST: Final = "llmmeter.cost"
METRIC_TOKENS: Final = "llmmeter.tokens"

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

INSTRUMENTATION_SCOPE: Final = "llmmeter"
