"""A conversation's seeded history: turns of user input, function calls, tool runs, handoffs and answers."""

from __future__ import annotations

import random
from datetime import datetime

from magent.sandbox.mistral import entries as E
from magent.sandbox.mistral import text as T
from magent.sandbox.mistral.generate import AgentRecord, ConversationSeed, conversation_rng


class _Clock:
    """Hands out increasing instants between a conversation's creation and its last update."""

    def __init__(self, start: datetime, end: datetime, steps: int) -> None:
        self.now, self.end = start, end
        self.step = (end - start) / max(steps, 1)

    def tick(self) -> tuple[datetime, datetime]:
        at = min(self.now, self.end)
        self.now += self.step
        return at, min(at + self.step * 0.8, self.end)


def answer(rng: random.Random) -> str:
    return " ".join(rng.sample(T.ANSWER_SENTENCES, k=rng.randint(1, 4)))


def question(rng: random.Random) -> str:
    return rng.choice(T.QUESTION_TEMPLATES).format(topic=rng.choice(T.TOPICS))


def generate_history(
    seed: int, convo: ConversationSeed, agents: dict[str, AgentRecord], average_length: int
) -> list[dict]:
    """About `average_length` entries (between half and one and a half of it), deterministic per conversation."""
    rng = conversation_rng(seed, convo.index, 2)
    conversation = convo.conversation
    target = rng.randint(max(2, average_length // 2), max(2, average_length * 3 // 2))
    start = datetime.fromisoformat(conversation["created_at"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(conversation["updated_at"].replace("Z", "+00:00"))
    clock = _Clock(start, end, target + 6)
    record = agents.get(conversation.get("agent_id") or "")
    agent = record.versions.get(conversation.get("agent_version"), record.latest) if record else None
    state = _TurnState(agent=agent, agents=agents, tools=agent["tools"] if agent else convo.tools,
                       model=agent["model"] if agent else conversation["model"])
    history: list[dict] = []
    full_turn = convo.index == 0
    while len(history) < target - 1:
        history.extend(_turn(rng, clock, state, full=full_turn))
        full_turn = False
    return history


class _TurnState:
    def __init__(self, *, agent: dict | None, agents: dict[str, AgentRecord], tools: list[dict], model: str) -> None:
        self.agent, self.agents, self.model = agent, agents, model
        self.functions = [tool["function"]["name"] for tool in tools if tool.get("type") == "function"]
        self.handed_off = False

    @property
    def agent_id(self) -> str | None:
        return self.agent["id"] if self.agent else None

    def handoff_target(self) -> dict | None:
        if not self.agent or self.handed_off or not self.agent.get("handoffs"):
            return None
        record = self.agents.get(self.agent["handoffs"][0])
        return record.latest if record else None


def _turn(rng: random.Random, clock: _Clock, state: _TurnState, *, full: bool) -> list[dict]:
    """One exchange: the user asks; the assistant may call a function, run a tool or hand off; it answers."""
    turn = [E.message_input(rng, clock.tick()[0], question(rng))]
    if state.functions and (full or rng.random() < 0.35):
        turn.extend(_function_round_trip(rng, clock, state))
    if full or rng.random() < 0.2:
        name, arguments = rng.choice(T.TOOL_EXECUTIONS)
        at, done = clock.tick()
        turn.append(E.tool_execution(rng, at, done, name, arguments, model=state.model, agent_id=state.agent_id))
    target = state.handoff_target()
    if target and (full or rng.random() < 0.15):
        at, done = clock.tick()
        turn.append(E.agent_handoff(rng, at, done, state.agent, target))
        state.agent, state.model, state.handed_off = target, target["model"], True
    at, done = clock.tick()
    turn.append(E.message_output(rng, at, done, _answer_content(rng), model=state.model, agent_id=state.agent_id))
    return turn


def _function_round_trip(rng: random.Random, clock: _Clock, state: _TurnState) -> list[dict]:
    name = rng.choice(state.functions)
    arguments, result = next(((a, r) for n, a, r in T.FUNCTIONS if n == name), ("{}", "{}"))
    at, done = clock.tick()
    call = E.function_call(rng, at, done, name, arguments, model=state.model, agent_id=state.agent_id)
    return [call, E.function_result(rng, clock.tick()[0], call["tool_call_id"], result)]


def _answer_content(rng: random.Random) -> str | list[dict]:
    """Mostly plain text; sometimes chunks with a reference, as answers grounded by a web search are."""
    text = answer(rng)
    if rng.random() >= 0.1:
        return text
    return [
        {"type": "text", "text": text},
        {"type": "tool_reference", "tool": "web_search", "title": "Mistral AI documentation",
         "url": "https://docs.mistral.ai/", "favicon": None},
    ]
