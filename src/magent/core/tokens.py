"""Token counts of conversation text, offline, with Mistral's official Tekken tokenizer.

The tokenizer files ship inside `mistral-common` (no download); loading takes about a second, so it is loaded
once per process, lazily, on first use (or ahead of time with `preload()` in a background thread).
Current Mistral models (Mistral Small/Medium/Large 2, Ministral, NeMo, Pixtral, Codestral, Devstral,
Magistral) use Tekken, so text for a model of those families is *counted*. For any other model (fine-tunes
named after other bases, third-party models) the tokenizer is unknown and the count is *estimated* at
one token per four characters, and marked so.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import dataclass
from typing import Any

COUNTED = "counted"
ESTIMATED = "estimated"
CHARS_PER_TOKEN_ESTIMATE = 4.0

# Model names (after an optional "ft:" prefix) whose tokenizer is Tekken.
_TEKKEN_MODEL = re.compile(
    r"^(ft:)?(mistral-(tiny|small|medium|large|saba)|open-mistral-nemo|ministral|pixtral|codestral|devstral"
    r"|magistral|voxtral|mistral-ocr)",
    re.IGNORECASE,
)

_lock = threading.Lock()
_tekken: Any = None
_count_ids: Any = None  # text → token ids (set with _tekken)


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    method: str  # COUNTED or ESTIMATED


_NO_TOKENS = TokenCount(0, COUNTED)


def tokenizer_known(model: str | None) -> bool:
    """True when `model` is tokenized with Tekken (so counts are exact)."""
    return isinstance(model, str) and _tekken_model(model)


@functools.lru_cache(maxsize=1024)  # asked for every entry; an export sees a few model names
def _tekken_model(model: str) -> bool:
    return bool(_TEKKEN_MODEL.match(model))


def count_tokens(text: str | None, model: str | None) -> TokenCount:
    """Tokens of `text` as `model` would see them (no BOS/EOS)."""
    if not tokenizer_known(model):
        return TokenCount(estimate_tokens(text), ESTIMATED)
    if not text:
        return _NO_TOKENS
    return TokenCount(len((_count_ids or _encoder())(text)), COUNTED)


def count_tokens_cached(text: str | None, model: str | None) -> TokenCount:
    """`count_tokens` for a text counted again and again, such as an agent's instructions (once per conversation)."""
    if isinstance(text, str) and (model is None or isinstance(model, str)):
        return _count_tokens_cached(text, model)
    return count_tokens(text, model)  # not a string as the API documents it: as count_tokens takes it


@functools.lru_cache(maxsize=256)
def _count_tokens_cached(text: str, model: str | None) -> TokenCount:
    return count_tokens(text, model)


def estimate_tokens(text: str | None) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN_ESTIMATE) if text else 0


def loaded() -> bool:
    """True once the tokenizer is in memory (counting will not wait for it)."""
    return _tekken is not None


def preload() -> None:
    """Load the tokenizer now (call from a background thread to overlap it with network I/O)."""
    _tokenizer()


def _tokenizer() -> Any:
    global _tekken, _count_ids
    if _tekken is None:
        with _lock:
            if _tekken is None:
                from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

                tekken = MistralTokenizer.v3(is_tekken=True).instruct_tokenizer.tokenizer
                _count_ids = _fast_encoder(tekken)
                _tekken = tekken
    return _tekken


def _encoder() -> Any:
    _tokenizer()
    return _count_ids


def _fast_encoder(tekken: Any) -> Any:
    """The ids `tekken.encode(text, bos=False, eos=False)` would give, minus its offset, which a count needs not:
    Tekken encodes with a tiktoken `Encoding` that has no special tokens, so `encode_ordinary` is the same
    encoding without the per-call special-token scan and the list copy that adds the offset (40 % of the cost)."""
    model = getattr(tekken, "_model", None)
    if getattr(model, "special_tokens_set", None) == set() and hasattr(model, "encode_ordinary"):
        return model.encode_ordinary
    return lambda text: tekken.encode(text, bos=False, eos=False)
