"""What a chat completion answers: `n` choices of text, JSON (`response_format`) or function calls.

Text is drawn from canned sentences; `json_object` gives a small JSON object and `json_schema` a value
generated from the given schema (`structured.sample`). A function is called when `tool_choice` forces it
("any", "required" or a named function), or, with `tool_choice` "auto" (the default), when the request offers
functions and the last message is the user's: a deterministic stand-in for a model deciding to use a tool.
Its arguments are generated from the function's `parameters` schema. One word counts as one token.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from magent.sandbox.mistral import structured
from magent.sandbox.mistral.entries import tool_call_id
from magent.sandbox.mistral.text import ANSWER_SENTENCES

TOOL_CALL_TOKENS = 8


@dataclass(frozen=True)
class Choice:
    index: int
    content: str
    finish_reason: str
    tool_calls: list[dict] | None = None

    @property
    def tokens(self) -> int:
        return TOOL_CALL_TOKENS if self.tool_calls else len(self.content.split())


def choices(body: dict, rng: random.Random) -> list[Choice]:
    """The `n` choices (index 0..n-1) the request asks for."""
    return [_choice(index, body, rng) for index in range(body.get("n") or 1)]


def _choice(index: int, body: dict, rng: random.Random) -> Choice:
    calls = tool_calls(body, rng)
    if calls:
        return Choice(index, "", "tool_calls", calls)
    content = _content(body.get("response_format"), rng)
    return _cut(index, content, body.get("max_tokens"))


def _content(response_format: Any, rng: random.Random) -> str:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_object":
        return json.dumps({"answer": rng.choice(ANSWER_SENTENCES), "confidence": round(rng.uniform(0.5, 1), 2)})
    if kind == "json_schema":
        return json.dumps(structured.sample(response_format["json_schema"]["schema"], rng))
    return " ".join(rng.sample(ANSWER_SENTENCES, k=rng.randint(1, 3)))


def _cut(index: int, content: str, max_tokens: int | None) -> Choice:
    """The content, cut after `max_tokens` words (finish reason "length"), as the model stops mid-answer."""
    words = pieces(content)
    if max_tokens is not None and max_tokens < len(words):
        return Choice(index, "".join(words[:max_tokens]).lstrip(), "length")
    return Choice(index, content, "stop")


def pieces(content: str) -> list[str]:
    """The content split into words that keep their leading whitespace: joined, they give it back exactly."""
    return re.findall(r"\s*\S+", content)


def tool_calls(body: dict, rng: random.Random) -> list[dict] | None:
    """A call of the named function or the first one, when the request forces or invites tool use, else None."""
    functions = {t["function"]["name"]: t["function"] for t in body.get("tools") or []
                 if isinstance(t, dict) and t.get("type", "function") == "function"
                 and isinstance(t.get("function"), dict) and isinstance(t["function"].get("name"), str)}
    choice = body.get("tool_choice") or "auto"
    named = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    messages = body.get("messages") or []
    user_last = isinstance(messages[-1], dict) and messages[-1].get("role") == "user" if messages else False
    if not functions or not (named or choice in ("any", "required") or (choice == "auto" and user_last)):
        return None
    function = functions.get(named) or next(iter(functions.values()))
    arguments = structured.sample(function.get("parameters") or {"type": "object"}, rng)
    call = {"name": named or function["name"], "arguments": json.dumps(arguments)}
    return [{"id": tool_call_id(rng), "type": "function", "function": call, "index": 0}]
