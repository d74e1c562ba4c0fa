"""The `key verify` code for one key, as a callable: probe the Mistral API (`probe`), judge it (`core.keycheck`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from magent.core.redact import fingerprint

if TYPE_CHECKING:
    from magent.core.keycheck import KeyReport


def key_verifier(base_url: str, *, models: list[str], spend: bool, timeout_s: float,
                 intentional_aliases: list[str], source: str) -> Callable[[str], KeyReport]:
    """`verify(key) -> KeyReport` against `base_url`: list models, look up `models`, and a 1-token chat if `spend`."""
    def verify(key: str) -> KeyReport:
        from magent.core.keycheck import evaluate_key
        from magent.services.mistral.probe import probe_key

        probe = probe_key(base_url, key, models=models, spend=spend, timeout_s=timeout_s)
        return evaluate_key(source, fingerprint(key), probe, models=models, intentional_aliases=intentional_aliases)

    return verify
