"""The export's history read (raw JSON through the SDK's client, hooks and retries) gives what the SDK's models do."""

from __future__ import annotations

from fixtures.mistral import SIM_API_KEY

from magent.services.mistral.conversations import open_source, to_dict


def test_raw_histories_equal_the_sdks_and_a_deleted_conversation_is_none(mistral_sim):
    source, client = open_source(mistral_sim.url, SIM_API_KEY)
    with client:
        conversations = next(source.conversation_pages())
        for conversation in conversations:
            by_sdk = client.beta.conversations.get_history(conversation_id=conversation["id"]).entries
            assert source.history(conversation["id"]) == [to_dict(entry) for entry in by_sdk]
        assert source.history("conv_does_not_exist") is None
        assert source.pacing.requests == 1 + len(conversations) * 2 + 1  # the SDK's own calls are paced too
