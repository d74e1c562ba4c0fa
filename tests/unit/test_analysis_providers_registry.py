"""One registry of analysis providers: core's PROVIDER_NAMES, one settings section and one module each."""

from __future__ import annotations

import importlib

from magent.core.analysis_config import PROVIDER_NAMES, AnalysisSettings
from magent.services.metrics import PROVIDERS


def test_every_provider_name_has_a_section_and_a_module():
    assert list(PROVIDERS) == list(PROVIDER_NAMES)
    for name in PROVIDER_NAMES:
        assert name in AnalysisSettings.model_fields
        assert PROVIDERS[name] is importlib.import_module(f"magent.services.metrics.{name}").check


def test_enabled_providers_follow_the_registry_order():
    settings = AnalysisSettings.model_validate({"mistral": {"enabled": True}, "web": {"url": "http://127.0.0.1:1/h"}})
    assert settings.enabled_providers() == ["web", "mistral"]
