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
