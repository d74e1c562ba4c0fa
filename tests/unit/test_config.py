"""Configuration: file + profile + environment precedence, and errors that name the key and line."""

import textwrap

import pytest

from magent.core.config import load_settings
from magent.core.errors import ConfigError

CONFIG = textwrap.dedent(
    """\
    default_profile: staging
    mistral:
      models: [mistral-small-2506]
      timeout: 10
    profiles:
      staging:
        mistral:
          base_url: http://staging.example
      production:
        mistral:
          base_url: https://api.mistral.ai
          models: [mistral-large-2411]
        deploy:
          steps: [5, 25, 50]
          pause: 10m
    """
)


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text(CONFIG)
    return path


def test_defaults_without_any_file():
    settings, profile, path = load_settings(env={})
    assert (profile, path) == ("default", None)
    assert settings.mistral.base_url == "https://api.mistral.ai"
    assert settings.mistral.key_from == ["env:MISTRAL_API_KEY"]
    assert settings.deploy.steps == [10, 50]


def test_default_profile_merges_over_top_level(config_file):
    settings, profile, _ = load_settings(str(config_file), env={})
    assert profile == "staging"
    assert settings.mistral.base_url == "http://staging.example"
    assert settings.mistral.models == ["mistral-small-2506"]
    assert settings.mistral.timeout == 10


def test_profile_flag_and_durations(config_file):
    settings, profile, _ = load_settings(str(config_file), "production", env={})
    assert profile == "production"
    assert settings.mistral.models == ["mistral-large-2411"]
    assert settings.deploy.steps == [5, 25, 50]
    assert settings.deploy.pause == 600


def test_environment_beats_file_and_flag_beats_environment(config_file):
    env = {"MAGENT_MISTRAL_URL": "http://127.0.0.1:9", "MAGENT_PROFILE": "production"}
    settings, profile, _ = load_settings(str(config_file), env=env)
    assert profile == "production"
    assert settings.mistral.base_url == "http://127.0.0.1:9"
    _, profile, _ = load_settings(str(config_file), "staging", env=env)
    assert profile == "staging"


def test_config_found_in_working_directory(config_file, monkeypatch):
    monkeypatch.chdir(config_file.parent)
    _, _, path = load_settings(env={})
    assert path == config_file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mistral:\n  modles: [x]\n", ":2: mistral.modles: unknown key"),
        ("mistral:\n  timeout: -1\n", ":2: mistral.timeout: invalid duration"),
        ("deploy:\n  steps: [50, 10]\n", ":2: deploy.steps: steps must be increasing"),
        ("deploy:\n  pause: soon\n", ":2: deploy.pause: invalid duration 'soon'"),
        ("profiles:\n  prod:\n    aws:\n      regoin: eu\n", ":4: aws.regoin: unknown key"),
        ("deploy:\n  analysis:\n    prometheus: {urll: x}\n", ":3: deploy.analysis.prometheus.urll: unknown key"),
        ("deploy:\n  analysis:\n    thresholds:\n      errors_5xx_per_min: lots\n",
         ":4: deploy.analysis.thresholds.errors_5xx_per_min: Input should be a valid number"),
        ("profiles:\n  prod:\n    deploy:\n      analysis: {web: {url: ftp://x}}\n", ":4: deploy.analysis.web:"),
        ("mistral: [\n", "is not valid YAML"),
        ("- a\n- b\n", "the top level must be a mapping"),
    ],
)
def test_invalid_file_names_key_and_line(tmp_path, text, expected):
    path = tmp_path / "magent.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), "prod" if "prod:" in text else None, env={})
    assert expected in caught.value.message
    assert caught.value.exit_code == 2


def test_unknown_profile_lists_known_ones(config_file):
    with pytest.raises(ConfigError) as caught:
        load_settings(str(config_file), "prod", env={})
    assert "profile 'prod' not found" in caught.value.message
    assert "production, staging" in caught.value.hint


def test_missing_explicit_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(str(tmp_path / "nope.yaml"), env={})
