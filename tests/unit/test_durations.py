"""Durations typed by users (--timeout, --max-age, deploy.pause, preflight.timeout): parsed or refused, never crashing."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from magent.core.config import load_settings
from magent.core.errors import ConfigError
from magent.core.timeutil import human_duration, parse_duration


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25),
                                           ("90d", 90 * 86400), ("12", 12), (" 2h ", 7200), ("1.5s", 1.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 m", "-5s", "1x", "m5", "5m30", "1h-5m"])
def test_bad_durations_are_value_errors(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.text(max_size=20))
def test_any_text_parses_or_is_a_value_error(text):
    try:
        assert parse_duration(text) >= 0
    except ValueError:
        pass


@given(st.integers(min_value=1, max_value=10 ** 8))
def test_human_duration_reads_back(seconds):
    assert parse_duration(human_duration(seconds)) == seconds


_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=10),
                    st.lists(st.text(max_size=5), max_size=3))
_preflight = st.dictionaries(st.sampled_from(["checklist", "repo", "manifests", "model_config", "tests_cmd",
                                              "fail_on", "timeout", "max_age", "health_url", "colour"]),
                             _values, max_size=5)


@settings(max_examples=300, deadline=None)
@given(section=_preflight)
def test_fuzzed_preflight_settings_load_or_name_the_bad_key(tmp_path_factory, section):
    path = tmp_path_factory.mktemp("cfg") / "magent.yaml"
    path.write_text(yaml.safe_dump({"preflight": section}))
    try:
        settings_, _, _ = load_settings(str(path), env={})
    except ConfigError as exc:
        assert "preflight." in exc.message and "\n" not in exc.message
    else:
        assert settings_.preflight.timeout > 0


@pytest.mark.parametrize("text, message", [("7", "a number needs a unit"), ("7.5", "a number needs a unit"),
                                           ("99999999999999999999999999d", "more than 100 years"),
                                           ("1000000000h", "more than 100 years"), ("soon", "invalid time")])
def test_instants_refuse_bare_numbers_and_impossible_ages(text, message):
    from magent.core.timeutil import parse_instant

    with pytest.raises(ValueError, match=message):
        parse_instant(text)


@given(st.text(max_size=30))
def test_any_instant_text_parses_or_is_a_value_error(text):
    from magent.core.timeutil import parse_instant

    try:
        parse_instant(text)
    except ValueError:
        pass


@pytest.mark.parametrize("argv", [(), ("key",), ("preflight", "--help"), ("sandbox",)])
def test_bare_groups_print_help_and_exit_0(cli, argv):
    result = cli(*argv)
    assert result.exit_code == 0 and "Usage: magent" in result.stdout and "Error" not in result.output
