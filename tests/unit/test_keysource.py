"""Parsing and resolving --key-from specs (env, file, aws with a fake fetcher; moto is in the integration tests)."""

from __future__ import annotations

import json

import pytest

from magent.core.errors import UsageError
from magent.core.redact import SECRETS
from magent.services import keys as keysource
from magent.services.keys import KeySource, ResolveContext, Scheme, parse_key_source, resolve_all, resolve_key

KEY = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("env:MISTRAL_API_KEY", KeySource("env", "MISTRAL_API_KEY")),
        ("  env:_X1 ", KeySource("env", "_X1")),
        ("ENV:KEY", KeySource("env", "KEY")),
        ("file:/run/secrets/mistral", KeySource("file", "/run/secrets/mistral")),
        ("file:keys.json#prod", KeySource("file", "keys.json", "prod")),
        ("aws:prod/mistral", KeySource("aws", "prod/mistral")),
        ("aws:arn:aws:secretsmanager:eu-west-1:1:secret:m-AbC#api_key",
         KeySource("aws", "arn:aws:secretsmanager:eu-west-1:1:secret:m-AbC", "api_key")),
    ],
)
def test_parse_valid_specs(spec, expected):
    parsed = parse_key_source(spec)
    assert parsed == expected
    assert parse_key_source(parsed.spec) == parsed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "expected SCHEME:TARGET"),
        ("MISTRAL_API_KEY", "expected SCHEME:TARGET"),
        ("vault:secret/x", "unknown source 'vault'"),
        ("env:", "nothing after 'env:'"),
        ("env:MY-KEY", "not an environment variable name"),
        ("env:KEY#field", "env sources take no #field"),
        ("aws:prod/mistral#", "empty field after '#'"),
        ("aws:#field", "nothing after 'aws:'"),
    ],
)
def test_parse_malformed_specs(spec, message):
    with pytest.raises(UsageError) as info:
        parse_key_source(spec)
    assert message in info.value.message
    assert info.value.exit_code == 2
    assert info.value.hint


def test_a_key_passed_as_spec_is_never_echoed():
    with pytest.raises(UsageError) as info:
        parse_key_source(KEY)
    assert KEY not in info.value.message + (info.value.hint or "")
    assert "looks like a key" in info.value.message
    assert KEY not in SECRETS.mask(f"argv: {KEY}")


def test_env_key_is_stripped_and_registered():
    resolved = resolve_key(parse_key_source("env:K"), ResolveContext(env={"K": f"  {KEY}\n"}))
    assert resolved.key == KEY
    assert resolved.warnings == ()
    assert KEY not in repr(resolved)
    assert SECRETS.mask(f"x {KEY} y") != f"x {KEY} y"


@pytest.mark.parametrize(("env", "message"), [({}, "K is not set"), ({"K": "  \n"}, "K is empty")])
def test_env_missing_or_empty(env, message):
    with pytest.raises(UsageError, match=message):
        resolve_key(parse_key_source("env:K"), ResolveContext(env=env))


def test_odd_key_shapes_warn():
    resolved = resolve_key(parse_key_source("env:K"), ResolveContext(env={"K": "short-key-value"}))
    assert "does not look like a Mistral API key" in resolved.warnings[0]
    bearer = resolve_key(parse_key_source("env:K"), ResolveContext(env={"K": f"Bearer {KEY}"}))
    assert "Bearer" in bearer.warnings[0]


def test_file_key(tmp_path):
    path = tmp_path / "key"
    path.write_text(KEY + "\n")
    assert resolve_key(parse_key_source(f"file:{path}")).key == KEY


def test_file_json_field(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"prod": KEY, "db_password": "hunter2-secret"}))
    assert resolve_key(parse_key_source(f"file:{path}#prod")).key == KEY
    assert "hunter2-secret" not in SECRETS.mask("pw hunter2-secret")


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (None, "", "not found"),
        ("", "", "is empty"),
        ("   \n", "", "is empty"),
        ('{"prod": "x"}', "", "holds a JSON object"),
        ("plain-key", "#prod", "is not a JSON object"),
        ('["a"]', "#prod", "is not a JSON object"),
        ('{"staging": "x"}', "#prod", "has no field 'prod'"),
        ('{"prod": 42}', "#prod", "is not a string"),
        ('{"prod": ""}', "#prod", "is empty"),
    ],
)
def test_bad_key_files(tmp_path, content, suffix, message):
    path = tmp_path / "key"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=message) as info:
        resolve_key(parse_key_source(f"file:{path}{suffix}"))
    assert info.value.exit_code == 2


def test_file_source_that_is_a_directory(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        resolve_key(parse_key_source(f"file:{tmp_path}"))


def _fetcher(value: str, seen: list | None = None):
    def fetch(secret_id, region, endpoint_url):
        if seen is not None:
            seen.append((secret_id, region, endpoint_url))
        return value

    return fetch


def test_aws_plain_and_field_use_the_context():
    seen: list = []
    ctx = ResolveContext(aws_region="eu-west-3", aws_endpoint_url="http://127.0.0.1:1", fetch_aws_secret=_fetcher(KEY, seen))
    assert resolve_key(parse_key_source("aws:prod/mistral"), ctx).key == KEY
    assert seen == [("prod/mistral", "eu-west-3", "http://127.0.0.1:1")]
    ctx.fetch_aws_secret = _fetcher(json.dumps({"api_key": KEY, "other": "another-secret"}))
    assert resolve_key(parse_key_source("aws:prod/mistral#api_key"), ctx).key == KEY
    assert "another-secret" not in SECRETS.mask("another-secret")


def test_aws_json_secret_without_field_names_the_fields():
    ctx = ResolveContext(fetch_aws_secret=_fetcher(json.dumps({"api_key": KEY, "org": "acme-org"})))
    with pytest.raises(UsageError) as info:
        resolve_key(parse_key_source("aws:prod/mistral"), ctx)
    assert "holds a JSON object" in info.value.message
    assert "aws:prod/mistral#FIELD" in info.value.hint and "api_key, org" in info.value.hint
    assert KEY not in str(info.value) + info.value.hint


def test_resolve_all_parses_every_spec_before_reading_any():
    read: list = []
    ctx = ResolveContext(env={"A": KEY}, fetch_aws_secret=_fetcher(KEY, read))
    with pytest.raises(UsageError, match="unknown source"):
        resolve_all(["aws:first", "nope:x"], ctx)
    assert read == []


def test_a_new_scheme_can_be_registered(monkeypatch):
    monkeypatch.setattr(keysource, "SCHEMES", dict(keysource.SCHEMES))
    keysource.register_scheme(Scheme("vault", "vault:PATH#KEY", lambda src, ctx: KEY, field_allowed=True,
                                     check_target=lambda t: None if "/" in t else "expected PATH/KEY"))
    assert resolve_key(parse_key_source("vault:prod/mistral#api-key")).key == KEY
    with pytest.raises(UsageError, match="expected PATH/KEY"):
        parse_key_source("vault:mistral")
    assert "vault:PATH#KEY" in keysource.syntax_help()


def test_endless_key_file_is_refused_after_a_few_kib():
    """file:/dev/zero claims size 0 and never ends: the read itself is bounded."""
    with pytest.raises(UsageError, match="too large to be a key file") as info:
        resolve_key(parse_key_source("file:/dev/zero"))
    assert info.value.exit_code == 2


def test_key_file_that_is_not_utf8_is_a_usage_error(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(b"\xff\xfe" + KEY.encode("utf-16-le"))
    with pytest.raises(UsageError, match="is not UTF-8 text") as info:
        resolve_key(parse_key_source(f"file:{path}"))
    assert info.value.exit_code == 2
