"""The simulator's data: seeded agents and conversations, histories generated on first read, and what
clients create at run time. Thread-safe: the server thread writes while tests read."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from magent.sandbox.mistral.generate import (
    AgentRecord,
    ConversationSeed,
    generate_agents,
    generate_conversation,
)
from magent.sandbox.mistral.history import generate_history


def default_now() -> datetime:
    """The start of the current UTC hour: two runs within the hour agree on their data."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


class NotFound(KeyError):
    """No such agent, agent version, conversation or entry."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Dataset:
    """Agents and conversations by id. Conversations are kept ordered by `updated_at`, newest first."""

    def __init__(
        self, *, seed: int, agents: int, conversations: int, days: int,
        now: datetime | None = None, entries_per_conversation: int = 20,
    ) -> None:
        self.seed, self.days = seed, days
        self.now = now or default_now()
        self._average = entries_per_conversation
        self._lock = threading.RLock()
        self._agents: dict[str, AgentRecord] = {a.id: a for a in generate_agents(seed, agents, self.now, days)}
        agent_list = list(self._agents.values())
        self._seeds: dict[str, ConversationSeed] = {}
        for index in range(conversations):
            convo = generate_conversation(seed, index, agent_list, self.now, days)
            self._seeds[convo.conversation["id"]] = convo
        self._conversations: dict[str, dict] = {cid: s.conversation for cid, s in self._seeds.items()}
        self._histories: dict[str, list[dict]] = {}
        self._order: list[str] | None = None

    # --- agents -------------------------------------------------------------------------------------

    @property
    def agents(self) -> list[dict]:
        """Current version of every agent, newest first (the `GET /v1/agents` order)."""
        with self._lock:
            records = sorted(self._agents.values(), key=lambda r: (r.versions[0]["created_at"], r.id), reverse=True)
            return [dict(record.latest) for record in records]

    def agent_record(self, agent_id: str) -> AgentRecord:
        with self._lock:
            record = self._agents.get(agent_id)
            if record is None:
                raise NotFound(f"Agent {agent_id} not found")
            return record

    def agent(self, agent_id: str, version: int | None = None) -> dict:
        record = self.agent_record(agent_id)
        if version is None:
            return dict(record.latest)
        if version not in record.versions:
            raise NotFound(f"Version {version} of agent {agent_id} not found")
        return dict(record.versions[version])

    def put_agent(self, record: AgentRecord) -> None:
        with self._lock:
            self._agents[record.id] = record

    def delete_agent(self, agent_id: str) -> None:
        with self._lock:
            if self._agents.pop(agent_id, None) is None:
                raise NotFound(f"Agent {agent_id} not found")

    # --- conversations ------------------------------------------------------------------------------

    @property
    def conversations(self) -> list[dict]:
        """Every conversation, most recently updated first (the `GET /v1/conversations` order)."""
        with self._lock:
            return [dict(self._conversations[cid]) for cid in self._ordered()]

    def _ordered(self) -> list[str]:
        if self._order is None:
            self._order = sorted(
                self._conversations, key=lambda cid: (self._conversations[cid]["updated_at"], cid), reverse=True
            )
        return self._order

    def conversation(self, conversation_id: str) -> dict:
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                raise NotFound(f"Conversation {conversation_id} not found")
            return dict(conversation)

    def conversation_page(self, page: int, page_size: int, metadata: dict | None = None) -> list[dict]:
        with self._lock:
            ids = self._ordered()
            if metadata:
                ids = [cid for cid in ids if _metadata_matches(self._conversations[cid], metadata)]
            chosen = ids[page * page_size : (page + 1) * page_size]
            return [dict(self._conversations[cid]) for cid in chosen]

    def history(self, conversation_id: str) -> list[dict]:
        """The conversation's entries, oldest first (generated on first read, then kept)."""
        with self._lock:
            return [dict(entry) for entry in self._history(conversation_id)]

    def messages(self, conversation_id: str) -> list[dict]:
        return [e for e in self.history(conversation_id) if e["type"] in ("message.input", "message.output")]

    def _history(self, conversation_id: str) -> list[dict]:
        if conversation_id not in self._conversations:
            raise NotFound(f"Conversation {conversation_id} not found")
        history = self._histories.get(conversation_id)
        if history is None:
            history = generate_history(self.seed, self._seeds[conversation_id], self._agents, self._average)
            self._histories[conversation_id] = history
        return history

    def save_conversation(self, conversation: dict, new_entries: list[dict], *, base: list[dict] | None = None) -> None:
        """Store a new or updated conversation; `base` replaces the history before `new_entries` are added."""
        with self._lock:
            cid = conversation["id"]
            if base is not None:
                self._histories[cid] = [dict(e) for e in base]
            elif cid in self._conversations:
                self._history(cid)
            else:
                self._histories[cid] = []
            self._conversations[cid] = conversation
            self._histories[cid].extend(new_entries)
            self._order = None

    def delete_conversation(self, conversation_id: str) -> None:
        with self._lock:
            if self._conversations.pop(conversation_id, None) is None:
                raise NotFound(f"Conversation {conversation_id} not found")
            self._histories.pop(conversation_id, None)
            self._seeds.pop(conversation_id, None)
            self._order = None

    def __len__(self) -> int:
        return len(self._conversations)


def _metadata_matches(conversation: dict, wanted: dict) -> bool:
    have = conversation.get("metadata") or {}
    return all(have.get(key) == value for key, value in wanted.items())
