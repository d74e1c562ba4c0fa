"""Token counts: the fast path counts exactly what the Tekken tokenizer encodes, and loads it only when needed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from magent.core import tokens

MODEL = "mistral-small-2506"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_the_count_is_the_length_of_tekkens_own_encoding(text):
    tekken = tokens._tokenizer()
    assert tokens.count_tokens(text, MODEL) == tokens.TokenCount(
        len(tekken.encode(text, bos=False, eos=False)), tokens.COUNTED)


def test_rows_that_need_no_counting_never_load_the_tokenizer(monkeypatch):
    monkeypatch.setattr(tokens, "_tekken", None)

    def refuse() -> None:
        raise AssertionError("the tokenizer was loaded")

    monkeypatch.setattr(tokens, "_tokenizer", refuse)
    assert tokens.count_tokens("", MODEL) == tokens.TokenCount(0, tokens.COUNTED)
    assert tokens.count_tokens("some text here", "gpt-4o") == tokens.TokenCount(4, tokens.ESTIMATED)
    assert not tokens.loaded()
