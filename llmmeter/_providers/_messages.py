"""Captured content in the conventions' message schema, from each provider's own shapes.

The GenAI conventions define JSON schemas for captured content (semantic-conventions-genai
``model/gen-ai/gen-ai-input-messages.json``, ``gen-ai-output-messages.json`` and
``gen-ai-system-instructions.json``): a message is ``{"role", "parts"}``, each part an object with
a ``type`` (``text`` with ``content``; ``tool_call`` with ``id``, ``name``, ``arguments``;
``tool_call_response`` with ``id``, ``response``; ``reasoning``, ``uri``, ``blob`` ...); an output
message also has a ``finish_reason``; system instructions are a list of parts of their own.

These functions turn OpenAI Chat and Responses and Anthropic Messages bodies into that form. They
run only when content capture is on, and never raise on malformed input: what they cannot read,
they leave out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from llmmeter._providers._base import get_str, is_object
from llmmeter._telemetry import _names as n

__all__ = [
    "Message",
    "Part",
    "anthropic_input",
    "anthropic_output",
    "chat_input",
    "chat_output",
    "finish_reason",
    "output_message",
    "prompt_messages",
    "responses_input",
    "responses_output",
    "streamed_output",
    "text_output",
    "text_part",
    "text_parts",
    "tool_definitions",
    "uri_part",
]

Part = dict[str, Any]
Message = dict[str, Any]

_FINISH_REASONS = {
    # OpenAI
    "stop": n.FINISH_STOP,
    "length": n.FINISH_LENGTH,
    "content_filter": n.FINISH_CONTENT_FILTER,
    "tool_calls": n.FINISH_TOOL_CALL,
    "function_call": n.FINISH_TOOL_CALL,
    # Anthropic
    "end_turn": n.FINISH_STOP,
    "stop_sequence": n.FINISH_STOP,
    "max_tokens": n.FINISH_LENGTH,
    "tool_use": n.FINISH_TOOL_CALL,
    "refusal": n.FINISH_CONTENT_FILTER,
    # LangChain / Gemini spellings
    "STOP": n.FINISH_STOP,
    "MAX_TOKENS": n.FINISH_LENGTH,
    "SAFETY": n.FINISH_CONTENT_FILTER,
    "RECITATION": n.FINISH_CONTENT_FILTER,
    "PROHIBITED_CONTENT": n.FINISH_CONTENT_FILTER,
    "BLOCKLIST": n.FINISH_CONTENT_FILTER,
    "SPII": n.FINISH_CONTENT_FILTER,
    "MALFORMED_FUNCTION_CALL": n.FINISH_ERROR,
    # Cohere
    "COMPLETE": n.FINISH_STOP,
    "STOP_SEQUENCE": n.FINISH_STOP,
    "TOOL_CALL": n.FINISH_TOOL_CALL,
    "ERROR": n.FINISH_ERROR,
}


def finish_reason(reason: str | None) -> str:
    """The conventions' finish reason for a provider's; one they do not name passes unchanged."""
    if reason is None:
        return n.FINISH_ERROR
    return _FINISH_REASONS.get(reason, reason)


def text_part(text: str) -> Part:
    """A ``text`` part."""
    return {"type": n.PART_TEXT, "content": text}


def text_parts(content: Any) -> list[Part]:
    """Parts from a string, or from a list of typed content blocks (OpenAI or Anthropic forms)."""
    if isinstance(content, str):
        return [text_part(content)] if content else []
    if isinstance(content, list):
        return [part for block in content if (part := _block_part(block)) is not None]
    return []


def output_message(parts: list[Part], reason: str | None, role: str = n.ROLE_ASSISTANT) -> Message:
    """An output message."""
    return {"role": role, "parts": parts, "finish_reason": finish_reason(reason)}


def streamed_output(texts: list[str], finish_reasons: list[str]) -> list[Message]:
    """The completion a stream's text deltas make, as one output message with the first finish reason."""
    reason = finish_reasons[0] if finish_reasons else None
    return [output_message([text_part("".join(texts))], reason)]


def prompt_messages(prompt: str | None) -> list[Message] | None:
    """A media request's text prompt (an image's, a transcription's, a speech's input) as one user
    message; None when there is none."""
    if not prompt:
        return None
    return [{"role": n.ROLE_USER, "parts": [text_part(prompt)]}]


def text_output(text: str) -> list[Message]:
    """A complete text answer (a transcript) as one output message."""
    return [output_message([text_part(text)], n.FINISH_STOP)]


def _arguments(raw: Any) -> Any:
    """Tool call arguments as an object when they are JSON text (OpenAI sends a string)."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _tool_call(call: Any) -> Part | None:
    """An OpenAI Chat ``tool_calls`` entry as a ``tool_call`` part."""
    if not is_object(call):
        return None
    function = call.get("function")
    name = get_str(function, "name")
    if name is None:
        return None
    return {
        "type": n.PART_TOOL_CALL,
        "id": get_str(call, "id"),
        "name": name,
        "arguments": _arguments(function.get("arguments") if is_object(function) else None),
    }


def _tool_calls(calls: list[Any]) -> list[Part]:
    return [part for call in calls if (part := _tool_call(call)) is not None]


def _block_part(block: Any) -> Part | None:
    """One content block (OpenAI Chat, Responses or Anthropic) as a part."""
    if isinstance(block, str):
        return text_part(block)
    if not is_object(block):
        return None
    kind = block.get("type")
    if kind in ("text", "input_text", "output_text"):
        text = block.get("text")
        return text_part(text) if isinstance(text, str) else None
    if kind == "image_url":
        url = get_str(block.get("image_url"), "url")
        return uri_part(url, "image") if url else None
    if kind == "input_image":
        url = get_str(block, "image_url")
        return uri_part(url, "image") if url else None
    if kind == "image":  # Anthropic
        source = block.get("source")
        if get_str(source, "type") == "url":
            return {"type": n.PART_URI, "modality": "image", "uri": get_str(source, "url")}
        if get_str(source, "type") == "base64":
            return {
                "type": n.PART_BLOB,
                "modality": "image",
                "mime_type": get_str(source, "media_type"),
                "content": get_str(source, "data"),
            }
        return None
    if kind == "tool_use":  # Anthropic
        return {
            "type": n.PART_TOOL_CALL,
            "id": get_str(block, "id"),
            "name": get_str(block, "name"),
            "arguments": block.get("input"),
        }
    if kind == "tool_result":  # Anthropic
        content = block.get("content")
        response = content if isinstance(content, str) else _joined_text(text_parts(content))
        return {"type": n.PART_TOOL_CALL_RESPONSE, "id": get_str(block, "tool_use_id"), "response": response}
    if kind in ("output_audio", "audio"):  # Realtime: spoken output, written as its transcript
        transcript = get_str(block, "transcript")
        return text_part(transcript) if transcript else {"type": kind}
    if kind in ("thinking", "reasoning"):
        text = get_str(block, "thinking") or _joined_text(text_parts(block.get("summary")))
        return {"type": n.PART_REASONING, "content": text} if text else None
    return {"type": kind} if isinstance(kind, str) and kind else None


def uri_part(url: str, modality: str) -> Part:
    """A ``uri`` part, or a ``blob`` part for a ``data:`` URL."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        mime_type = header[5:].split(";", 1)[0] or None
        return {"type": n.PART_BLOB, "modality": modality, "mime_type": mime_type, "content": data}
    return {"type": n.PART_URI, "modality": modality, "uri": url}


def _joined_text(parts: Iterable[Part]) -> str:
    return "".join(part["content"] for part in parts if part.get("type") == n.PART_TEXT)


# --- OpenAI Chat Completions ------------------------------------------------------------------------


def chat_input(messages: Any) -> tuple[list[Part] | None, list[Message]]:
    """System instructions and input messages from a Chat Completions ``messages`` list (or a
    legacy Completions ``prompt``). ``system`` and ``developer`` messages are instructions."""
    if isinstance(messages, str):
        return None, [{"role": n.ROLE_USER, "parts": [text_part(messages)]}]
    if not isinstance(messages, list):
        return None, []
    system: list[Part] = []
    result: list[Message] = []
    for message in messages:
        if not is_object(message):
            continue
        role = get_str(message, "role") or n.ROLE_USER
        if role in ("system", "developer"):
            system.extend(text_parts(message.get("content")))
            continue
        if role == "tool":
            response = {
                "type": n.PART_TOOL_CALL_RESPONSE,
                "id": get_str(message, "tool_call_id"),
                "response": _response_text(message.get("content")),
            }
            result.append({"role": n.ROLE_TOOL, "parts": [response]})
            continue
        parts = text_parts(message.get("content"))
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            parts.extend(_tool_calls(calls))
        entry: Message = {"role": role, "parts": parts}
        name = get_str(message, "name")
        if name is not None:
            entry["name"] = name
        result.append(entry)
    return system or None, result


def _response_text(content: Any) -> Any:
    if isinstance(content, list):
        return _joined_text(text_parts(content))
    return content


def chat_output(choices: Any) -> list[Message]:
    """Output messages from Chat Completions ``choices`` (one message per choice)."""
    if not isinstance(choices, list):
        return []
    result = []
    for choice in choices:
        if not is_object(choice):
            continue
        message = choice.get("message")
        if is_object(message):
            parts = text_parts(message.get("content"))
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                parts.extend(_tool_calls(calls))
        else:  # legacy Completions
            parts = text_parts(choice.get("text"))
        result.append(output_message(parts, get_str(choice, "finish_reason")))
    return result


# --- OpenAI Responses -------------------------------------------------------------------------------


def responses_input(body: Mapping[str, Any]) -> tuple[list[Part] | None, list[Message]]:
    """System instructions (``instructions``, system/developer items) and input messages from a
    Responses request."""
    system: list[Part] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        system.append(text_part(instructions))
    items = body.get("input")
    if isinstance(items, str):
        return system or None, [{"role": n.ROLE_USER, "parts": [text_part(items)]}]
    result: list[Message] = []
    if isinstance(items, list):
        for item in items:
            if not is_object(item):
                continue
            kind = get_str(item, "type") or "message"
            if kind == "message":
                role = get_str(item, "role") or n.ROLE_USER
                parts = text_parts(item.get("content"))
                if role in ("system", "developer"):
                    system.extend(parts)
                else:
                    result.append({"role": role, "parts": parts})
            elif kind == "function_call":
                result.append({"role": n.ROLE_ASSISTANT, "parts": [_function_call(item)]})
            elif kind == "function_call_output":
                part = {
                    "type": n.PART_TOOL_CALL_RESPONSE,
                    "id": get_str(item, "call_id"),
                    "response": item.get("output"),
                }
                result.append({"role": n.ROLE_TOOL, "parts": [part]})
    return system or None, result


def _function_call(item: Mapping[str, Any]) -> Part:
    return {
        "type": n.PART_TOOL_CALL,
        "id": get_str(item, "call_id"),
        "name": get_str(item, "name"),
        "arguments": _arguments(item.get("arguments")),
    }


def responses_output(output: Any, reason: str | None) -> list[Message]:
    """The one output message of a Responses ``output`` list: its text, reasoning and tool calls."""
    if not isinstance(output, list):
        return []
    parts: list[Part] = []
    for item in output:
        if not is_object(item):
            continue
        kind = get_str(item, "type")
        if kind == "message":
            parts.extend(text_parts(item.get("content")))
        elif kind == "function_call":
            parts.append(_function_call(item))
        elif kind == "reasoning":
            part = _block_part(item)
            if part is not None:
                parts.append(part)
        elif kind:
            parts.append({"type": kind})
    return [output_message(parts, reason)]


# --- Anthropic Messages -----------------------------------------------------------------------------


def anthropic_input(body: Mapping[str, Any]) -> tuple[list[Part] | None, list[Message]]:
    """System instructions (``system``) and input messages from a Messages request. A user turn
    made only of tool results is a ``tool`` message."""
    system = text_parts(body.get("system")) or None
    messages = body.get("messages")
    result: list[Message] = []
    if isinstance(messages, list):
        for message in messages:
            if not is_object(message):
                continue
            role = get_str(message, "role") or n.ROLE_USER
            parts = text_parts(message.get("content"))
            if parts and all(part["type"] == n.PART_TOOL_CALL_RESPONSE for part in parts):
                role = n.ROLE_TOOL
            result.append({"role": role, "parts": parts})
    return system, result


def anthropic_output(content: Any, reason: str | None) -> list[Message]:
    """The output message of a Messages response: its content blocks as parts."""
    return [output_message(text_parts(content), reason)]


def tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    """The conventions' tool definitions (``gen-ai-tool-definitions.json``) from a request's
    ``tools``, in OpenAI Chat (``{"type": "function", "function": {...}}``), Responses
    (``{"type": "function", "name": ...}``, hosted tools such as ``web_search``) or Anthropic
    (``{"name", "description", "input_schema"}``) form; None when there are none."""
    if not isinstance(tools, list):
        return None
    definitions = [definition for tool in tools if (definition := _tool_definition(tool)) is not None]
    return definitions or None


def _tool_definition(tool: Any) -> dict[str, Any] | None:
    if not is_object(tool):
        return None
    kind = get_str(tool, "type")
    function = tool.get("function")
    spec: Mapping[str, Any] = function if kind == "function" and is_object(function) else tool
    name = get_str(spec, "name")
    if name is None:
        return {"type": kind} if kind is not None else None
    definition: dict[str, Any] = {"type": "function" if kind in (None, "function", "custom") else kind}
    definition["name"] = name
    description = get_str(spec, "description")
    if description is not None:
        definition["description"] = description
    parameters = spec.get("parameters", spec.get("input_schema"))
    if is_object(parameters):
        definition["parameters"] = parameters
    return definition
