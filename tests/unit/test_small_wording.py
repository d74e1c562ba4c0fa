"""Wording a reader trips over: counts of one, messages cut mid-word, pydantic's phrasing, an empty hint list."""

from __future__ import annotations

import pytest

from magent.core.config import load_settings
from magent.core.errors import ConfigError
from magent.services.kube import health
from magent.services.kube.objects import Pod


def _pod(restarts: int) -> Pod:
    return Pod({"metadata": {"name": "web-canary-1"},
                "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": restarts}]}})


def test_one_restart_and_one_warning_are_singular():
    assert health.restarts([_pod(1)], 3, "canary").detail.startswith("1 restart (most: web-canary-1, 1)")
    assert health.restarts([_pod(2)], 3, "canary").detail.startswith("2 restarts")
    event = {"reason": "Unhealthy", "message": "Readiness probe failed"}
    assert health.warning_events([event], "canary").detail.startswith("1 warning (")
    assert health.warning_events([event, event], "canary").detail.startswith("2 warnings (")


def test_a_long_event_message_is_cut_at_a_word_not_inside_one():
    message = "Back-off restarting failed container app in pod web-canary-5f7d9c-5tzrd_shop(0d3f) " * 2
    detail = health.warning_events([{"reason": "BackOff", "message": message}], "canary").detail
    shown = detail.split("BackOff: ", 1)[1].rstrip(")")
    assert shown.endswith("…") and len(shown) <= 80
    assert shown[:-1].rstrip() + " " in message  # ends at a word (a pod name is one word)


def test_an_unknown_profile_with_no_profiles_in_the_file_says_so(tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text("deploy:\n  pause: 1m\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(str(path), "nope", {})
    assert "defines no profiles" in raised.value.hint and "none" not in raised.value.hint


def test_usage_errors_from_validators_do_not_speak_pydantic(cli):
    result = cli("status", "-d", "x", "-o", "xml")
    assert result.exit_code == 2
    assert "Value error" not in result.stderr and "'xml' is not one of" in result.stderr
    result = cli("history", "--limit", "-1")
    assert result.exit_code == 2 and "Input should be" not in result.stderr
    assert "--limit': should be greater than or equal to 1" in result.stderr
