"""The model catalogue: dated model ids, their `-latest` aliases, capabilities and deprecations.

Like the real `/v1/models`, the list holds one card per name (a dated id and each of its aliases), and every
card names the others in `aliases`. It holds every model of the shipped price table (`magent/data/pricing.yaml`)
and every model the official SDK's examples name. Where the price table lets a `-latest` alias point to a newer
model than the one the simulator's own tests and seeded data were built on (large, medium, small, ministral,
devstral-medium), the alias stays on the older model here; the newer model answers under its dated id and
its other names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_CHAT = {"completion_chat": True, "function_calling": True}


@dataclass(frozen=True)
class ModelSpec:
    id: str
    name: str
    description: str
    created: int
    max_context_length: int
    aliases: tuple[str, ...] = ()
    capabilities: dict[str, bool] = field(default_factory=lambda: dict(_CHAT))
    deprecation: str | None = None
    replacement: str | None = None
    temperature: float | None = 0.3
    fine_tuned_root: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    @property
    def chat(self) -> bool:
        return self.capabilities.get("completion_chat", False)


def _caps(**extra: bool) -> dict[str, bool]:
    return {**_CHAT, **extra}


_EMBED = {"completion_chat": False}

CATALOGUE: tuple[ModelSpec, ...] = (
    ModelSpec("mistral-large-2512", "Mistral Large 3", "Open-weight multimodal flagship.", 1764633600, 262144,
              ("mistral-large-3",), _caps(vision=True)),
    ModelSpec("mistral-large-2411", "Mistral Large 24.11", "Top-tier reasoning for high-complexity tasks.",
              1731974400, 131072, ("mistral-large-latest",), _caps(fine_tuning=True)),
    ModelSpec("mistral-large-2407", "Mistral Large 24.07", "Previous Mistral Large.", 1721606400, 131072,
              (), _caps(), "2025-11-30T12:00:00Z", "mistral-large-2411"),
    ModelSpec("mistral-medium-2604", "Mistral Medium 3.5", "Multimodal model with adjustable reasoning.",
              1776038400, 262144, ("mistral-medium-3-5",), _caps(vision=True, reasoning=True), temperature=0.7),
    ModelSpec("mistral-medium-2508", "Mistral Medium 3.1", "Frontier-class multimodal model.", 1754611200,
              131072, ("mistral-medium-latest", "mistral-medium", "mistral-medium-3-1-2508"), _caps(vision=True)),
    ModelSpec("mistral-medium-2505", "Mistral Medium 3", "Frontier-class multimodal model.", 1746576000,
              131072, (), _caps(vision=True)),
    ModelSpec("mistral-small-2603", "Mistral Small 4", "Efficient multimodal model.", 1773792000, 262144,
              (), _caps(vision=True, reasoning=True)),
    ModelSpec("mistral-small-2506", "Mistral Small 3.2", "Efficient model for everyday tasks.", 1750204800,
              131072, ("mistral-small-latest", "mistral-small-3-2-2506"), _caps(vision=True, fine_tuning=True)),
    ModelSpec("mistral-small-2503", "Mistral Small 3.1", "Efficient model with vision.", 1742169600, 131072,
              (), _caps(vision=True, fine_tuning=True)),
    ModelSpec("magistral-medium-2509", "Magistral Medium 1.2", "Reasoning model.", 1758240000, 131072,
              ("magistral-medium-latest", "magistral-medium-1-2-2509"), _caps(reasoning=True, vision=True),
              temperature=0.7),
    ModelSpec("magistral-medium-2506", "Magistral Medium 1.0", "Reasoning model.", 1749513600, 40960,
              (), _caps(reasoning=True), temperature=0.7),
    ModelSpec("magistral-small-2509", "Magistral Small 1.2", "Small reasoning model.", 1758240000, 131072,
              ("magistral-small-latest", "magistral-small-1-2-2509"), _caps(reasoning=True, vision=True),
              temperature=0.7),
    ModelSpec("magistral-small-2506", "Magistral Small 1.0", "Small reasoning model.", 1749513600, 40960,
              (), _caps(reasoning=True), temperature=0.7),
    ModelSpec("codestral-2508", "Codestral 25.08", "Code generation and fill-in-the-middle.", 1754006400,
              256000, ("codestral-latest",), _caps(completion_fim=True)),
    ModelSpec("devstral-2512", "Devstral 2", "Agentic coding model.", 1765238400, 262144,
              ("devstral-latest",), _caps()),
    ModelSpec("devstral-medium-2507", "Devstral Medium", "Agentic coding model.", 1752537600, 131072,
              ("devstral-medium-latest",), _caps()),
    ModelSpec("devstral-small-2512", "Devstral Small 2", "Small agentic coding model.", 1765238400, 262144,
              ("devstral-small-latest", "labs-devstral-small-2512"), _caps()),
    ModelSpec("devstral-small-2507", "Devstral Small 1.1", "Small agentic coding model.", 1752537600, 131072,
              (), _caps()),
    ModelSpec("ministral-14b-2512", "Ministral 3 14B", "Edge model with vision.", 1764633600, 262144,
              ("ministral-14b-latest", "ministral-3-14b-2512"), _caps(vision=True)),
    ModelSpec("ministral-8b-2512", "Ministral 3 8B", "Edge model with vision.", 1764633600, 262144,
              ("ministral-3-8b-2512",), _caps(vision=True)),
    ModelSpec("ministral-3b-2512", "Ministral 3 3B", "The smallest edge model with vision.", 1764633600, 131072,
              ("ministral-3-3b-2512",), _caps(vision=True)),
    ModelSpec("ministral-8b-2410", "Ministral 8B", "Edge model with a strong performance/price ratio.",
              1729123200, 131072, ("ministral-8b-latest",), _caps(fine_tuning=True)),
    ModelSpec("ministral-3b-2410", "Ministral 3B", "The smallest edge model.", 1729123200, 131072,
              ("ministral-3b-latest",), _caps(fine_tuning=True)),
    ModelSpec("open-mistral-nemo", "Mistral Nemo", "Open 12B model.", 1721001600, 131072,
              ("open-mistral-nemo-2407", "mistral-tiny", "mistral-tiny-2407", "mistral-tiny-latest"),
              _caps(fine_tuning=True)),
    ModelSpec("pixtral-large-2411", "Pixtral Large", "Multimodal model.", 1731974400, 131072,
              ("pixtral-large-latest",), _caps(vision=True)),
    ModelSpec("pixtral-12b-2409", "Pixtral 12B", "Open multimodal model.", 1726099200, 131072,
              ("pixtral-12b", "pixtral-12b-latest"), _caps(vision=True)),
    ModelSpec("voxtral-small-2507", "Voxtral Small", "Chat with audio input.", 1752624000, 32768,
              ("voxtral-small-latest",), _caps(audio=True)),
    ModelSpec("voxtral-mini-2507", "Voxtral Mini", "Chat with audio input, and transcription.", 1752624000, 32768,
              ("voxtral-mini-latest",), _caps(audio=True, audio_transcription=True)),
    ModelSpec("voxtral-mini-2602", "Voxtral Mini Transcribe 2", "Transcription with diarization.", 1770076800,
              32768, (), {"completion_chat": False, "audio_transcription": True}, temperature=None),
    ModelSpec("mistral-embed", "Mistral Embed", "Text embeddings.", 1702339200, 8192,
              ("mistral-embed-2312",), _EMBED, temperature=None),
    ModelSpec("codestral-embed-2505", "Codestral Embed", "Code embeddings.", 1747958400, 8192,
              ("codestral-embed",), _EMBED, temperature=None),
    ModelSpec("mistral-moderation-2411", "Mistral Moderation", "Content moderation.", 1731974400, 8192,
              ("mistral-moderation-latest",), {"moderation": True, "classification": True}, temperature=None),
    ModelSpec("mistral-ocr-2505", "Mistral OCR", "Document understanding.", 1747958400, 32768,
              ("mistral-ocr-latest",), {"ocr": True}, temperature=None),
    ModelSpec("ft:open-mistral-7b:587a6b29:20240514:7e773925", "Support tone (fine-tuned)",
              "A fine-tuned model of this workspace.", 1715702400, 32768, (), _caps(),
              fine_tuned_root="open-mistral-7b"),
)

_BY_NAME: dict[str, ModelSpec] = {name: spec for spec in CATALOGUE for name in spec.names}

# Models the seeded agents and conversations use, most frequent first.
DATA_MODELS: tuple[str, ...] = (
    "mistral-medium-2508", "mistral-small-2506", "mistral-large-2411", "mistral-small-latest",
    "ministral-8b-2410", "codestral-2508", "mistral-large-latest", "magistral-medium-2509",
)


def resolve(name: str) -> ModelSpec | None:
    """The model a name (dated id or alias) stands for, or None when no such model exists."""
    return _BY_NAME.get(name)


def card(spec: ModelSpec, name: str | None = None) -> dict:
    """The API shape (BaseModelCard / FTModelCard) of `spec` as listed under `name`."""
    listed = name or spec.id
    body: dict = {
        "id": listed,
        "object": "model",
        "created": spec.created,
        "owned_by": "mistralai",
        "capabilities": _full_capabilities(spec.capabilities),
        "name": spec.name,
        "description": spec.description,
        "max_context_length": spec.max_context_length,
        "aliases": [other for other in spec.names if other != listed],
        "deprecation": spec.deprecation,
        "deprecation_replacement_model": spec.replacement,
        "default_model_temperature": spec.temperature,
        "type": "base",
    }
    if spec.fine_tuned_root:
        body.update(type="fine-tuned", owned_by="workspace-7e773925", job="ftjob-7e773925",
                    root=spec.fine_tuned_root, archived=False)
    return body


def model_list() -> dict:
    """The `/v1/models` body (ModelList): one card per name."""
    return {"object": "list", "data": [card(spec, name) for spec in CATALOGUE for name in spec.names]}


_CAPABILITY_NAMES = (
    "completion_chat", "function_calling", "reasoning", "completion_fim", "fine_tuning", "vision", "ocr",
    "classification", "moderation", "audio", "audio_transcription",
)


def _full_capabilities(flags: dict[str, bool]) -> dict[str, bool]:
    return {name: flags.get(name, False) for name in _CAPABILITY_NAMES}
