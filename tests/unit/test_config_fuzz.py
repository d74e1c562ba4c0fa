"""Fuzzing magent.yaml: every file, however malformed, is loaded or refused with one ConfigError (exit 2) that
starts with `file:line:`, never any other exception.

The fault trial found tracebacks from invalid dates (`2026-02-30`), integers past Python's 4,300-digit limit,
`default_profile` being a list or naming a non-mapping, nesting 500 levels deep, recursive aliases and files that are
not UTF-8. The generator below writes such values, wrong types and unknown keys at every place of the file.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magent.core.config import load_settings
from magent.core.errors import ConfigError

SECTIONS = {
    "mistral": ["base_url", "key_from", "models", "intentional_aliases", "timeout"],
    "aws": ["region", "endpoint_url"],
    "kubernetes": ["kubeconfig", "context", "namespace"],
    "store": ["database_url", "data_dir"],
    "notify": ["webhook_url"],
    "deploy": ["steps", "pause", "interval", "max_inconclusive", "max_restarts", "lease_duration", "rollout_timeout",
               "analysis"],
    "preflight": ["checklist", "manifests", "timeout", "max_age", "fail_on", "model_config"],
    "alerts": ["thresholds", "namespace", "rules"],
}
ANALYSIS_KEYS = ["prometheus", "web", "thresholds", "statistics", "queries", "url", "max", "latency_p95_seconds"]

# Long values are written as short tokens and expanded after drawing, to keep hypothesis' reports readable.
HUGE = {"<int4301>": "9" * 4301, "<negint5000>": "-" + "9" * 5000, "<hex5000>": "0x" + "f" * 5000,
        "<text3000>": "'" + "x" * 3000 + "'"}
NASTY_SCALARS = [
    "", "~", "[]", "{}", "[1, 2]", "[30s]", "!!binary aGVsbG8=", "2026-01-01", "2026-02-30", "2026-13-01T00:00:00Z",
    "2026-01-01 25:61:61", *HUGE, "1e400", "-1e400", ".nan", ".inf", "-.inf", "-1", "0", "7", "1ms", "30s", "5m",
    "99999999999999999999999999d", "true", "no", "'x'", '"\\x00"', '"\x1f"', "!!float abc", "!!int x", "!!bool maybe",
    "!!timestamp nope", "!!str [1]", "!!map 1", "!!set {a}", "!!omap [a: 1]", "!!python/object:os.system x",
    "*nowhere", "&a [*a]", "http://user:pw@host:1/?token=t", "0o777", "1_000", "é\u2028", "!!null", "{<<: [1]}",
    "? [k]", "a: b: c", "[10, 50]", "{url: 'http://x'}", "'2026-11-01'", "-", "|", "@x", "`x`", "%x",
]
KEYS = sorted({key for keys in SECTIONS.values() for key in keys} | set(SECTIONS) | set(ANALYSIS_KEYS)) + [
    "unknown", "1", "true", "~", "2026-02-30", "[a]", "'profiles'", "default_profile", "<<", "profiles", "dev"]
PROFILE_NAMES = ["dev", "prod", "1", "[x]", "~", "staging"]


class _Reader:
    """Turns a list of drawn integers into YAML: cheap to draw, and hypothesis shrinks the list."""

    def __init__(self, numbers: list[int]) -> None:
        self.numbers, self.at = numbers, 0

    def next(self, size: int) -> int:
        value = self.numbers[self.at] if self.at < len(self.numbers) else 0
        self.at += 1
        return value % size

    def value(self, depth: int = 0) -> str:
        shape = self.next(6) if depth < 3 else 0
        if shape == 4:
            return "{" + ", ".join(f"{self.key()}: {self.value(depth + 1)}" for _ in range(self.next(4))) + "}"
        if shape == 5:
            return "[" + ", ".join(self.value(depth + 1) for _ in range(self.next(4))) + "]"
        if shape == 3:
            return str(self.numbers[self.at % max(len(self.numbers), 1)] - 2**15)
        return NASTY_SCALARS[self.next(len(NASTY_SCALARS))]

    def key(self) -> str:
        return KEYS[self.next(len(KEYS))]

    def section(self, indent: str) -> str:
        names = [*SECTIONS, "unknown_section"]
        name = names[self.next(len(names))]
        if self.next(4) == 0:
            return f"{indent}{name}: {self.value()}\n"
        keys = [*SECTIONS.get(name, ["x"]), *ANALYSIS_KEYS[:2], "unknown"]
        fields = "".join(f"{indent}  {keys[self.next(len(keys))]}: {self.value()}\n" for _ in range(self.next(5)))
        return f"{indent}{name}:\n{fields}"

    def document(self) -> str:
        text = "".join(self.section("") for _ in range(self.next(5)))
        profiles = self.next(4)
        if profiles == 3:
            text += f"profiles: {self.value()}\n"
        elif profiles:
            text += "profiles:\n"
            for name in PROFILE_NAMES[:profiles]:
                body = "".join(self.section("    ") for _ in range(self.next(3)))
                text += f"  {name}:\n{body}" if self.next(3) else f"  {name}: {self.value()}\n"
        if self.next(2):
            text += f"default_profile: {(PROFILE_NAMES + ['[dev]', self.value()])[self.next(len(PROFILE_NAMES) + 2)]}\n"
        depth = [0, 0, 0, 0, 63, 65, 500, 1200][self.next(8)]
        if depth:
            text += f"deep: {'[' * depth}{']' * depth}\n" if self.next(2) else f"deep: {'{a: ' * depth}1{'}' * depth}\n"
        for token, huge in HUGE.items():
            text = text.replace(token, huge)
        return text


@st.composite
def magent_yaml(draw) -> bytes:
    data = _Reader(draw(st.lists(st.integers(0, 2**16), max_size=60))).document().encode()
    if draw(st.integers(0, 9)) == 0:  # not UTF-8: Latin-1 or stray bytes somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xe9t\xe9", b"\xff\xfe", b"\x80", b"\xc3"])) + data[at:]
    return data


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=magent_yaml())
def test_any_magent_yaml_loads_or_is_one_config_error_naming_file_and_line(tmp_path, data):
    path = tmp_path / "magent.yaml"
    path.write_bytes(data)
    try:
        load_settings(str(path), None, env={})
    except ConfigError as exc:
        assert exc.exit_code == 2
        assert "\n" not in exc.message, exc.message
        where = re.escape(str(path))
        assert re.match(rf"{where}:\d+: \S", exc.message) or re.match(rf"profile .* not found in {where}$",
                                                                      exc.message), exc.message


@pytest.mark.parametrize(("text", "expected"), [
    (b"deploy:\n  pause:\n", ":2: deploy.pause: invalid duration None"),
    (b"deploy:\n  pause: [1, 2]\n", ":2: deploy.pause: invalid duration [1, 2]"),
    (b"mistral:\n  base_url: !!binary aGVsbG8=\n", ":2: binary values (!!binary) are not accepted"),
    (b"deploy:\n  pause: 2026-02-30\n", ":2: deploy.pause: invalid duration '2026-02-30'"),
    (b"deploy:\n  max_restarts: " + b"9" * 5000 + b"\n", ":2: integer too large (5000 digits)"),
    (b"kubernetes:\n  namespace: caf\xe9\n", ":2: the file is not UTF-8 text (byte 0xe9)"),
    (b"default_profile: [dev]\nprofiles: {dev: {}}\n", ":1: default_profile: must be a profile name, not a list"),
    (b"default_profile: dev\nprofiles:\n  dev: 3\n", ":3: profiles.dev: must be a mapping of settings, not a number"),
    (b"x: " + b"[" * 500 + b"]" * 500 + b"\n", ":1: nested more than 64 levels deep"),
    (b"x: &a [*a]\n", ":1: aliases expand too deep or too large"),
    (b"mistral:\n  timeout: !!float abc\n", ":2: not a valid float: 'abc'"),
    (b"deploy:\n  max_inconclusive: !!bool maybe\n", ":2: not a valid bool: 'maybe'"),
])
def test_what_the_fault_trial_found_is_one_line_naming_file_and_line(tmp_path, text, expected):
    path = tmp_path / "magent.yaml"
    path.write_bytes(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), None, env={})
    assert caught.value.message.startswith(f"{path}{expected}"), caught.value.message


def test_a_date_is_kept_as_the_text_written():
    from magent.core.config_yaml import parse_config_yaml

    document, _ = parse_config_yaml(b"kubernetes:\n  namespace: 2026-01-01\n", "magent.yaml")
    assert document == {"kubernetes": {"namespace": "2026-01-01"}}
