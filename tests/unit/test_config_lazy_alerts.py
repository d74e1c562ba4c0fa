"""The `alerts:` section is read only where it is written: a magent.yaml without one (what `magent rollback` loads)
builds none of the alert models' validators, and one with a mistake still fails at load with file:line:key."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from pydantic import BaseModel

from magent.core.alert_config import AlertsSettings
from magent.core.config import Settings, load_settings
from magent.core.errors import ConfigError

_LOAD_WITHOUT_ALERTS = textwrap.dedent("""
    import sys
    from magent.core.config import load_settings
    settings, _, _ = load_settings(sys.argv[1], env={})
    from magent.core import alert_config
    models = (alert_config.AlertsSettings, alert_config.PrometheusAlertSettings, alert_config.RuleSettings)
    from magent.core import config
    sections = (config.MistralSettings, config.EcsDeploySettings, config.ExportJobSettings, config.Settings)
    print(settings.deploy.rollout_timeout, any(model.__pydantic_complete__ for model in models),
          any(section.__pydantic_complete__ for section in sections))
""")


def test_a_file_without_alerts_builds_no_alert_model(tmp_path):
    config = tmp_path / "magent.yaml"
    config.write_text("deploy: {rollout_timeout: 30}\nprofiles: {prod: {kubernetes: {namespace: shop}}}\n")
    done = subprocess.run([sys.executable, "-c", _LOAD_WITHOUT_ALERTS, str(config)], capture_output=True, text=True,
                          timeout=60)
    # nor the validators of absent sections, nor Settings': only the sections present are validated
    assert (done.returncode, done.stdout.split()) == (0, ["30.0", "False", "False"]), done.stderr


def test_the_default_alerts_are_the_seed_table_when_asked_for(tmp_path):
    config = tmp_path / "magent.yaml"
    config.write_text("mistral: {models: [m]}\n")
    settings, _, _ = load_settings(str(config), env={})
    assert [rule.name for rule in settings.alerts.table()][:1] == ["api-down"]
    dumped = settings.model_dump(mode="json", by_alias=True)["alerts"]
    assert dumped["prometheus"]["rate_window"] == 120 and dumped["rules"] == {}


def _sections(model: type[BaseModel]) -> list[type[BaseModel]]:
    nested = [field.annotation for field in model.model_fields.values()
              if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)]
    return [model, *(inner for section in nested for inner in _sections(section))]


@pytest.mark.parametrize("section", _sections(Settings) + _sections(AlertsSettings), ids=lambda model: model.__name__)
def test_a_default_made_without_validation_is_the_validated_default(section):
    assert section.model_construct().model_dump() == section.model_validate({}).model_dump()


@pytest.mark.parametrize(("text", "where", "key"), [
    ("alerts:\n  rules:\n    api-down: {threshold: -1}\n", 3, "alerts.rules.api-down.threshold"),
    ("mistral: {models: [m]}\nalerts:\n  prometheus: {rate_window: 2x}\n", 3, "alerts.prometheus.rate_window"),
    ("alerts: 5\n", 1, "alerts"),
    ("profiles:\n  prod:\n    alerts: {nope: 1}\n", 3, "profiles.prod.alerts.nope"),
])
def test_a_bad_alerts_section_is_an_error_at_load_with_file_line_and_key(tmp_path, text, where, key):
    config = tmp_path / "magent.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(config), env={})
    assert str(caught.value).startswith(f"{config}:{where}: {key}: ")


def test_alerts_given_to_settings_directly_are_validated():
    assert Settings(alerts={"rules": {"api-down": {"threshold": 3}}}).alerts.rule("api-down").threshold == 3
    with pytest.raises(ValueError, match="threshold"):
        Settings(alerts={"rules": {"api-down": {"threshold": -1}}})
