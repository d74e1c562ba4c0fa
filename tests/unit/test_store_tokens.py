"""Token counting: Tekken for Mistral models (counted), an estimate for unknown tokenizers (estimated)."""

from __future__ import annotations

import pytest

from magent.core.tokens import COUNTED, ESTIMATED, count_tokens, estimate_tokens, tokenizer_known


@pytest.mark.parametrize("model", ["mistral-small-2506", "mistral-large-latest", "ministral-8b-2410",
                                   "codestral-2508", "magistral-medium-2509", "open-mistral-nemo",
                                   "ft:mistral-small-2506:abc:1234"])
def test_mistral_models_use_tekken(model):
    assert tokenizer_known(model)


@pytest.mark.parametrize("model", [None, "", "gpt-4o", "llama-3-70b", "my-mistral-finetune"])
def test_other_models_are_unknown(model):
    assert not tokenizer_known(model)


def test_counts_match_the_official_tokenizer():
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    text = "Bonjour ! Could you check the delivery date of my parcel? [INST] is plain text here."
    expected = len(MistralTokenizer.v3(is_tekken=True).instruct_tokenizer.tokenizer.encode(text, bos=False, eos=False))
    result = count_tokens(text, "mistral-small-2506")
    assert result.tokens == expected and result.method == COUNTED
    assert 10 < expected < len(text)


def test_unknown_tokenizer_is_estimated_and_marked():
    result = count_tokens("x" * 41, "gpt-4o")
    assert (result.tokens, result.method) == (11, ESTIMATED)
    assert estimate_tokens("") == 0 and estimate_tokens(None) == 0


def test_empty_text_counts_zero():
    assert count_tokens(None, "mistral-small-2506").tokens == 0
    assert count_tokens("", "mistral-small-2506").method == COUNTED
