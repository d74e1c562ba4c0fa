"""The export's reads as plain JSON through the SDK's client (no pydantic models): what the SDK's models give,
plus the fields they do not know, kept as they came (an entry's are kept the same way)."""

from __future__ import annotations

from fixtures.mistral import SIM_API_KEY

from magent.core.export_plan import conversation_row
from magent.services.mistral.conversations import open_source, to_dict


def test_listed_pages_equal_the_sdks(make_mistral_sim):
    sim = make_mistral_sim(agents=2, conversations=7, seed=5)
    source, client = open_source(sim.url, SIM_API_KEY)
    with client:
        pages = list(source.conversation_pages(page_size=3))
        by_sdk = [[to_dict(c) for c in client.beta.conversations.list(page=page, page_size=3)] for page in range(3)]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert pages == by_sdk
    assert source.pacing.requests == 3 + 3  # our pages and the SDK's, each paced


def test_a_conversation_field_the_sdk_does_not_know_reaches_its_extra_column(make_mistral_sim):
    sim = make_mistral_sim(agents=1, conversations=2, seed=6)
    first = sim.data.conversations[0]
    sim.data.save_conversation({**first, "labels": ["vip", "fr"]}, [])
    source, client = open_source(sim.url, SIM_API_KEY)
    with client:
        listed = {c["id"]: c for page in source.conversation_pages() for c in page}
    assert listed[first["id"]]["labels"] == ["vip", "fr"]
    assert conversation_row(listed[first["id"]])["extra"]["labels"] == ["vip", "fr"]

