"""Every profile of magent.yaml is validated whichever one is in use: an error in `prod` is not kept for the day
someone deploys with `--profile prod`."""

from __future__ import annotations

import pytest

from magent.core.config import load_settings
from magent.core.errors import ConfigError

FILE = """\
default_profile: dev
deploy:
  pause: 1m
profiles:
  dev:
    kubernetes: {namespace: dev}
  prod:
    deploy:
      interval: 1ms
"""


def test_an_error_in_another_profile_is_reported_naming_that_profile(tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text(FILE)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), "dev", env={})
    assert caught.value.message.startswith(f"{path}:9: profiles.prod.deploy.interval: must be at least 1s"), \
        caught.value.message
    assert "every profile is checked, not only 'dev'" in caught.value.hint
    assert caught.value.exit_code == 2


def test_every_other_profile_is_checked_not_only_the_first(tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text("deploy:\n  steps: [10, 50]\nprofiles:\n  dev: {}\n  prod:\n    deploy: {analysis: {web: {}}}\n"
                    "  canary: {kubernetes: {namespace: [x]}}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), "dev", env={})
    assert "profiles.canary.kubernetes.namespace: Input should be a valid string" in caught.value.message


def test_the_selected_profile_keeps_its_short_key_and_good_files_load(tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text(FILE.replace("1ms", "5s"))
    settings, name, _ = load_settings(str(path), "prod", env={})
    assert (name, settings.deploy.interval, settings.deploy.pause) == ("prod", 5.0, 60.0)
    path.write_text(FILE.replace("namespace: dev", "namespace: [dev]").replace("1ms", "5s"))
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), "dev", env={})
    assert caught.value.message.startswith(f"{path}:6: kubernetes.namespace: Input should be a valid string")


def test_an_error_at_the_top_level_names_its_own_line_not_the_profiles_block(tmp_path):
    from magent.core.config import load_settings
    from magent.core.errors import ConfigError

    path = tmp_path / "magent.yaml"
    path.write_text("deploy:\n  pause: [1, 2]\nprofiles:\n  prod:\n    deploy: {interval: 5s}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert f"{path}:2: deploy.pause" in caught.value.message
