"""The key-scanning rules (magent.core.secretscan): edges of the Mistral rule, the generic rule, allow
comments, fingerprints, baselines, and a fuzz test that no finding ever carries the secret."""

from __future__ import annotations

import json
import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from magent.core.errors import ConfigError
from magent.core.secretscan import (
    GENERIC_RULE,
    MISTRAL_RULE,
    baseline_document,
    entropy,
    in_baseline,
    parse_baseline,
    scan_text,
    scan_text_hits,
    secret_fingerprint,
)


def made_up_key(seed: int = 1) -> str:
    """A random string of the shape of a Mistral key, made at run time so no key sits in this file."""
    rng = random.Random(seed)
    while True:
        key = "".join(rng.choices(string.ascii_letters + string.digits, k=32))
        if (any(c.isupper() for c in key) and any(c.islower() for c in key) and any(c.isdigit() for c in key)
                and entropy(key) >= 3.5):
            return key


KEY = made_up_key()


def rules(text: str, generic: bool = True) -> list[str | None]:
    return [finding.rule for finding in scan_text(text, "f.py", generic=generic)]


def test_key_next_to_mistral_is_found_with_position_and_no_secret():
    text = f'import os\n\nclient = Mistral(api_key="{KEY}")\n'
    [finding] = scan_text(text, "app/main.py")
    assert (finding.file, finding.line, finding.column, finding.rule) == ("app/main.py", 3, 27, MISTRAL_RULE)
    assert finding.severity is None  # the item's severity
    assert finding.fingerprint == secret_fingerprint(KEY)
    assert all(KEY not in str(value) for value in vars(finding).values())
    assert KEY[-4:] in finding.message  # the house fingerprint: last 4 characters and a short hash


def test_hex_digest_is_not_a_key():
    digest = "%032x" % random.Random(3).getrandbits(128)
    assert rules(f"mistral cache digest = {digest}", generic=False) == []
    assert rules(f"mistral cache digest = {digest.upper()}", generic=False) == []


def test_all_caps_and_all_lower_tokens_are_not_keys():
    assert rules(f"mistral: {KEY.upper()}", generic=False) == []
    assert rules(f"mistral: {KEY.lower()}", generic=False) == []


def test_low_entropy_token_is_not_a_key():
    token = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaB12"
    assert entropy(token) < 3.5
    assert rules(f"MISTRAL_API_KEY={token}", generic=False) == []


@pytest.mark.parametrize("gap, found", [(40, True), (41, False)])
def test_distance_after_the_word(gap, found):
    text = "mistral" + " " * gap + KEY
    assert rules(text, generic=False) == ([MISTRAL_RULE] if found else [])


@pytest.mark.parametrize("gap, found", [(40, True), (41, False)])
def test_distance_before_the_word(gap, found):
    text = KEY + "." * gap + "Mistral"
    assert rules(text, generic=False) == ([MISTRAL_RULE] if found else [])


def test_across_a_line_break():
    text = f"mistral:\n  # the production key\n  api_key: {KEY}\n"
    [finding] = scan_text(text, "values.yaml")
    assert (finding.line, finding.column, finding.rule) == (3, 12, MISTRAL_RULE)


def test_without_the_word_only_the_generic_rule_can_see_it():
    assert rules(f"x = {KEY}") == []
    assert rules(f'OPENAI_API_KEY = "{KEY}"') == [GENERIC_RULE]


def test_token_longer_or_shorter_than_32_is_not_a_mistral_key():
    assert rules(f"mistral {KEY}Z", generic=False) == []
    assert rules(f"mistral {KEY[:31]}", generic=False) == []


def test_the_same_key_twice_is_two_findings_with_one_fingerprint():
    text = f"mistral {KEY}\n\n\n" + "x" * 200 + f"\nMISTRAL_KEY={KEY}\n"
    first, second = scan_text(text, "a")
    assert (first.line, second.line) == (1, 5)
    assert first.fingerprint == second.fingerprint


def test_generic_rule_reports_the_name_with_warning_severity():
    [finding] = scan_text('settings = {"db_password": "s3cr3t-Pa55w0rd-2024xyz"}\n', "cfg.json")  # magent:allow
    assert (finding.rule, finding.severity) == (GENERIC_RULE, "warning")
    assert "db_password" in finding.message and "s3cr3t-Pa55w0rd-2024xyz" not in finding.message


@pytest.mark.parametrize("line", [
    "token = get_token_from_environment_2()",  # a call, not a value
    'API_KEY = "your-api-key-here-1234567"',  # a placeholder
    'SECRET = "abcdefghijklmnopqrstuvwxyz"',  # no digit
    'password = "aaaaaaaaaaaaaaaaaaaa1"',  # low entropy
    'auth_token = os.environ["AUTH_TOKEN_2024_VALUE"]',
    "max_tokens: 1024",
])
def test_generic_rule_ignores_what_is_not_a_secret(line):
    assert rules(line) == []


def test_generic_rule_can_be_turned_off():
    assert rules('OPENAI_API_KEY = "sk-9fK2mQ7xL4pR8tZ1vB6n"', generic=False) == []  # magent:allow


def test_mistral_rule_takes_precedence_over_generic_on_the_same_value():
    assert rules(f'MISTRAL_API_KEY = "{KEY}"') == [MISTRAL_RULE]


def test_allow_comment_on_the_line_or_the_comment_line_above():
    assert rules(f'MISTRAL_API_KEY = "{KEY}"  # magent:allow test fixture') == []
    assert rules(f'# magent:allow: a revoked key kept for the docs\nMISTRAL_API_KEY = "{KEY}"') == []
    assert rules(f'// magent:allow\nconst mistralKey = "{KEY}";') == []
    # not a comment, or two lines above: not an allowance
    assert rules(f'note = "magent:allow"\nMISTRAL_API_KEY = "{KEY}"') == [MISTRAL_RULE]
    assert rules(f'# magent:allow\n\nMISTRAL_API_KEY = "{KEY}"') == [MISTRAL_RULE]


def test_fingerprint_is_stable_and_hides_the_secret():
    assert secret_fingerprint(KEY) == secret_fingerprint(KEY)
    assert secret_fingerprint(KEY) != secret_fingerprint(made_up_key(2))
    assert KEY not in secret_fingerprint(KEY) and secret_fingerprint(KEY).startswith("sha256:")


def test_entropy():
    assert entropy("") == 0.0
    assert entropy("aaaa") == 0.0
    assert entropy("abcd") == pytest.approx(2.0)


# --- baselines ---------------------------------------------------------------------------------------------

def test_baseline_round_trip_suppresses_exactly_its_findings():
    findings = scan_text(f"mistral {KEY}\n", "a.py") + scan_text(f"mistral {made_up_key(2)}\n", "b.py")
    document = baseline_document(findings[:1], "2025-01-01T00:00:00Z")
    text = json.dumps(document)
    assert KEY not in text
    keys = parse_baseline(text, "baseline.json")
    assert [in_baseline(f, keys) for f in findings] == [True, False]
    moved = scan_text(f"\n\nmistral {KEY}\n", "a.py")[0]  # lines moved: still accepted
    assert in_baseline(moved, keys)
    assert not in_baseline(scan_text(f"mistral {KEY}\n", "c.py")[0], keys)  # another file: not accepted


@pytest.mark.parametrize("text, words", [
    ("{not json", "is not JSON"),
    ('{"version": 2, "findings": []}', "not a version 1"),
    ("[]", "not a version 1"),
    ('{"version": 1, "findings": {}}', "must be a list"),
    ('{"version": 1, "findings": [{"file": "a"}]}', "findings[0]"),
])
def test_bad_baseline_is_a_config_error_naming_the_file(text, words):
    with pytest.raises(ConfigError) as caught:
        parse_baseline(text, "ci/baseline.json")
    assert "ci/baseline.json" in caught.value.message and words in caught.value.message
    assert caught.value.exit_code == 2


# --- fuzz --------------------------------------------------------------------------------------------------

_ALPHABET = st.sampled_from(list(string.ascii_letters + string.digits + " \n\t=:'\"_-#/.") + ["mistral", "MISTRAL",
                            "api_key", "token", "magent:allow", "\r", "\x00", "é", "\u2028"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=200).map("".join), st.integers(0, 5000))
def test_fuzz_scan_never_raises_and_never_returns_the_secret(text, seed):
    key = made_up_key(seed)
    for candidate in (text, f"{text}mistral {key}{text}", f'{text}\nAPI_TOKEN = "{key[:20]}"\n{text}'):
        for hit in scan_text_hits(candidate, "f"):
            finding = hit.finding
            assert finding.line is not None and finding.line >= 1 and finding.column >= 1
            assert candidate[_offset(candidate, finding.line, finding.column):].startswith(hit.secret)
            assert all(hit.secret not in str(value) for value in vars(finding).values())


def _offset(text: str, line: int, column: int) -> int:
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    return starts[line - 1] + column - 1
