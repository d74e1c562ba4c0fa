"""Pure logic of `magent key rotate`: --secret-id parsing (fuzzed), the key inside the secret's value, the new
value, restart stamps and the commands printed when a rollback cannot finish."""

from __future__ import annotations

import json
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magent.core.errors import UsageError
from magent.core.rotation import (
    SecretRef,
    fix_commands,
    key_in_value,
    parse_secret_ref,
    restart_stamp,
    value_with_key,
)

KEY = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"  # magent:allow (a throwaway of the real shape)
NEW = "ZyXwVuTsRqPoNmLkJiHgFeDcBa543210"  # magent:allow


@pytest.mark.parametrize(("text", "expected"), [
    ("prod/mistral", SecretRef("prod/mistral")),
    (" prod/mistral#api_key ", SecretRef("prod/mistral", "api_key")),
    ("arn:aws:secretsmanager:eu-west-3:123456789012:secret:prod/mistral-AbCdEf#key",
     SecretRef("arn:aws:secretsmanager:eu-west-3:123456789012:secret:prod/mistral-AbCdEf", "key")),
])
def test_secret_ids_and_fields(text, expected):
    assert parse_secret_ref(text) == expected
    assert parse_secret_ref(expected.spec) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"), ("#field", "no secret before"), ("a b", "not a secret name"), ("x#", "empty field"),
    ("x#a b", "invalid field"), ("x#a#b", "invalid field"),
])
def test_bad_secret_ids(text, message):
    with pytest.raises(UsageError, match=message):
        parse_secret_ref(text)


@given(st.text(max_size=80))
def test_any_secret_id_parses_or_is_refused_cleanly(text):
    try:
        ref = parse_secret_ref(text)
    except UsageError as exc:
        assert exc.hint and "\n" not in exc.message
        return
    assert ref.secret_id and parse_secret_ref(ref.spec) == ref


def test_plain_secret_value():
    ref = SecretRef("s")
    assert key_in_value(f"  {KEY}\n", ref) == KEY
    assert value_with_key(KEY, ref, NEW) == NEW


def test_json_secret_keeps_other_fields_in_order():
    ref = SecretRef("s", "api_key")
    value = json.dumps({"region": "eu", "api_key": KEY, "n": 3})
    assert key_in_value(value, ref) == KEY
    new_value = value_with_key(value, ref, NEW)
    assert list(json.loads(new_value).items()) == [("region", "eu"), ("api_key", NEW), ("n", 3)]


@pytest.mark.parametrize(("value", "ref", "message"), [
    (json.dumps({"api_key": KEY}), SecretRef("s"), "fields present: api_key"),
    (KEY, SecretRef("s", "api_key"), "not a JSON object"),
    (json.dumps({"other": KEY}), SecretRef("s", "api_key"), "no field 'api_key'"),
    (json.dumps({"api_key": 42}), SecretRef("s", "api_key"), "not a string"),
    (json.dumps({"api_key": " "}), SecretRef("s", "api_key"), "empty"),
    ("   ", SecretRef("s"), "empty"),
])
def test_unusable_values_are_refused_without_showing_them(value, ref, message):
    with pytest.raises(UsageError) as caught:
        key_in_value(value, ref)
    assert message in f"{caught.value.message} (hint: {caught.value.hint})"
    assert KEY not in caught.value.message + (caught.value.hint or "")


@given(st.dictionaries(st.text(max_size=6), st.text(max_size=6) | st.integers(), max_size=4),
       st.text(min_size=1, max_size=6).filter(lambda f: "#" not in f and f.strip() == f and f))
def test_a_new_json_value_changes_only_the_field(document, field):
    value = json.dumps({**document, field: KEY})
    new_value = json.loads(value_with_key(value, SecretRef("s", field), NEW))
    assert new_value == {**document, field: NEW}


def test_restart_stamps_change_even_within_one_second():
    assert restart_stamp("2026-01-02T03:04:05.678901Z", None) == "2026-01-02T03:04:05Z"
    assert restart_stamp("2026-01-02T03:04:05.678901Z", "2026-01-02T03:04:05Z") == "2026-01-02T03:04:05.678901Z"


def test_fix_commands_name_only_what_is_left_and_are_shell_safe():
    ref = SecretRef("prod/my secret", "k")
    commands = fix_commands(ref, "old-v", "new-v", current_on_new=True, pending_on_new=False, deployment="web",
                            namespace="shop", context=None)
    assert "--move-to-version-id old-v --remove-from-version-id new-v" in commands[0]
    assert not any("AWSPENDING" in command for command in commands)
    assert commands[-2:] == ["kubectl rollout restart deployment/web -n shop",
                             "kubectl rollout status deployment/web -n shop"]
    assert shlex.split(commands[0])[4] == "prod/my secret"
    only_pending = fix_commands(ref, "old-v", "new-v", current_on_new=False, pending_on_new=True, deployment=None,
                                namespace=None, context=None)
    assert "AWSPENDING --remove-from-version-id new-v" in only_pending[0]
    assert not any("kubectl" in command for command in only_pending)
