"""Gemini's ``contents`` and ``candidates`` in the conventions' message schema (see ``_messages``).

A Gemini turn is ``{"role": "user" | "model", "parts": [...]}``; a part holds one of ``text``
(``thought: true`` marks reasoning), ``functionCall``, ``functionResponse``, ``inlineData`` or
``fileData``. Only run when content capture is on; what cannot be read is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmmeter._providers._base import get_str, is_object
from llmmeter._providers._messages import Message, Part, output_message, text_part
from llmmeter._telemetry import _names as n

__all__ = ["gemini_input", "gemini_output"]

_ROLES = {"model": n.ROLE_ASSISTANT, "user": n.ROLE_USER, "function": n.ROLE_TOOL, "tool": n.ROLE_TOOL}


def _modality(mime_type: str | None) -> str:
    kind = (mime_type or "").partition("/")[0]
    return kind if kind in ("image", "audio", "video") else "file"


def _part(part: Any) -> Part | None:
    if not is_object(part):
        return None
    text = part.get("text")
    if isinstance(text, str):
        return {"type": n.PART_REASONING, "content": text} if part.get("thought") is True else text_part(text)
    call = part.get("functionCall") or part.get("function_call")
    if is_object(call):
        return {
            "type": n.PART_TOOL_CALL,
            "id": get_str(call, "id"),
            "name": get_str(call, "name"),
            "arguments": call.get("args"),
        }
    answer = part.get("functionResponse") or part.get("function_response")
    if is_object(answer):
        return {
            "type": n.PART_TOOL_CALL_RESPONSE,
            "id": get_str(answer, "id"),
            "response": answer.get("response"),
        }
    inline = part.get("inlineData") or part.get("inline_data")
    if is_object(inline):
        mime = get_str(inline, "mimeType") or get_str(inline, "mime_type")
        return {
            "type": n.PART_BLOB,
            "modality": _modality(mime),
            "mime_type": mime,
            "content": get_str(inline, "data"),
        }
    file = part.get("fileData") or part.get("file_data")
    if is_object(file):
        mime = get_str(file, "mimeType") or get_str(file, "mime_type")
        uri = get_str(file, "fileUri") or get_str(file, "file_uri")
        return {"type": n.PART_URI, "modality": _modality(mime), "mime_type": mime, "uri": uri}
    return None


def _parts(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [text_part(content)]
    parts = content.get("parts") if is_object(content) else content
    if not isinstance(parts, list):
        return []
    return [found for part in parts if (found := _part(part)) is not None]


def gemini_input(body: Mapping[str, Any]) -> tuple[list[Part] | None, list[Message]]:
    """System instructions (``systemInstruction``) and input messages (``contents``) of a request.

    A user turn made only of function responses is a ``tool`` message.
    """
    system = body.get("systemInstruction", body.get("system_instruction"))
    instructions = _parts(system) or None
    contents = body.get("contents")
    if is_object(contents) or isinstance(contents, str):
        contents = [contents]
    messages: list[Message] = []
    if isinstance(contents, list):
        for turn in contents:
            parts = _parts(turn)
            role = _ROLES.get(get_str(turn, "role") or "user", n.ROLE_USER)
            if parts and all(part["type"] == n.PART_TOOL_CALL_RESPONSE for part in parts):
                role = n.ROLE_TOOL
            messages.append({"role": role, "parts": parts})
    return instructions, messages


def gemini_output(candidates: Any) -> list[Message]:
    """One output message per candidate of a response."""
    if not isinstance(candidates, list):
        return []
    return [
        output_message(_parts(candidate.get("content")), get_str(candidate, "finishReason"))
        for candidate in candidates
        if is_object(candidate)
    ]
