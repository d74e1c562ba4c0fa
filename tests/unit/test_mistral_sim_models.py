"""The simulator's model catalogue: names resolve, aliases are listed both ways, deprecations are complete."""

from __future__ import annotations

from magent.sandbox.mistral.models import CATALOGUE, DATA_MODELS, card, model_list, resolve


def test_every_name_resolves_to_its_model_and_unknown_names_do_not():
    for spec in CATALOGUE:
        assert all(resolve(name) is spec for name in spec.names)
    assert resolve("gpt-4o") is None


def test_each_card_lists_the_other_names_of_its_model():
    for spec in CATALOGUE:
        for name in spec.names:
            assert set(card(spec, name)["aliases"]) == set(spec.names) - {name}
    listed = [m["id"] for m in model_list()["data"]]
    assert len(listed) == len(set(listed)) == sum(len(spec.names) for spec in CATALOGUE)


def test_latest_aliases_and_deprecations():
    assert resolve("mistral-large-latest").id == "mistral-large-2411"
    deprecated = [spec for spec in CATALOGUE if spec.deprecation]
    assert deprecated and all(resolve(spec.replacement) for spec in deprecated)


def test_seeded_data_uses_chat_models_only():
    assert all(resolve(name) and resolve(name).chat for name in DATA_MODELS)


# Every model the official SDK's examples name (mistralai/client-python, examples/mistral/, 2026-06-30), with the
# capability the example uses.
SDK_EXAMPLE_MODELS = {
    "mistral-tiny": "completion_chat", "mistral-small-latest": "function_calling",
    "mistral-large-latest": "completion_chat", "mistral-large-2411": "completion_chat",
    "mistral-medium-latest": "completion_chat", "mistral-medium-2505": "completion_chat",
    "mistral-medium-3-5": "reasoning", "mistral-small-2503": "completion_chat", "pixtral-12b-2409": "vision",
    "codestral-latest": "completion_fim", "ministral-3b-latest": "completion_chat",
    "open-mistral-nemo": "completion_chat", "voxtral-small-latest": "audio", "voxtral-mini-latest": "audio",
    "voxtral-mini-2602": "audio_transcription", "mistral-ocr-latest": "ocr",
    "mistral-moderation-latest": "moderation",
}


def test_the_models_of_the_sdk_examples_exist_with_their_capability():
    missing = {name: need for name, need in SDK_EXAMPLE_MODELS.items()
               if resolve(name) is None or not card(resolve(name), name)["capabilities"][need]}
    assert missing == {}


def test_every_model_of_the_shipped_price_table_exists():
    from magent.core.pricing import load_pricing

    names = [name for model, price in load_pricing().models.items() for name in (model, *price.aliases)]
    assert [name for name in names if resolve(name) is None] == []


def test_embedding_models_are_not_chat_models():
    assert not resolve("mistral-embed").chat and not resolve("codestral-embed").chat
