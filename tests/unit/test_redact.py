"""Secrets are shown only as fingerprints, in text and in logs."""

import logging

from hypothesis import given
from hypothesis import strategies as st

from magent.core.redact import SECRETS, RedactingFilter, fingerprint, mask_url, mask_webhook

KEY = "Zq8LmN3pR5tV7xY9aB1cD3eF5gH7jK9m"


def test_fingerprint_shows_last_four_and_short_hash():
    shown = fingerprint(KEY)
    assert shown.startswith("…K9m"[:1]) and KEY[-4:] in shown and "sha256:" in shown
    assert KEY not in shown and KEY[:8] not in shown


@given(st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), min_size=8, max_size=64))
def test_fingerprint_never_contains_the_secret(secret):
    assert secret not in fingerprint(secret)


def test_registry_masks_every_occurrence():
    SECRETS.add(KEY)
    text = SECRETS.mask(f"Authorization: Bearer {KEY}; again {KEY}")
    assert KEY not in text
    assert text.count(fingerprint(KEY)) == 2


def test_logging_filter_masks_arguments(caplog):
    SECRETS.add(KEY)
    logger = logging.getLogger("magent.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="magent.test"):
        logger.info("calling with key %s", KEY)
    assert KEY not in caplog.text
    assert fingerprint(KEY) in caplog.text


def test_urls_lose_passwords_and_tokens():
    assert mask_url("postgresql://app:s3cret@db.example:5432/prod") == "postgresql://app:***@db.example:5432/prod"
    assert "tok123" not in mask_url("https://h.example/x?token=tok123&a=1")
    assert mask_webhook("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com/***"


def test_environment_secrets_are_registered_before_any_log():
    from magent.core.redact import register_environment_secrets

    env = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "MAGENT_DATABASE_URL": "postgresql://app:pa55word-x@db:5432/m",
    }
    register_environment_secrets(env)
    text = SECRETS.mask(f"signing with {env['AWS_SECRET_ACCESS_KEY']} and pa55word-x")
    assert "wJalrXUtnFEMI" not in text and "pa55word-x" not in text


def test_urls_without_a_scheme_and_conninfo_lose_passwords():
    assert mask_url("app:pa55-word@db.internal:5432/m") == "app:***@db.internal:5432/m"
    assert mask_url("host=db user=app password='s3 cret' dbname=m") == "host=db user=app password=*** dbname=m"
    assert mask_url("host=db password=s3cret") == "host=db password=***"


def test_mistyped_urls_lose_their_passwords_too():
    """`magent db status` echoes a MAGENT_DATABASE_URL it cannot parse: a typo in the scheme (`postgres//`,
    `postgres:/`) or an `@` inside a schemeless password once printed the password."""
    assert mask_url("postgres//app:s3cret-pw@db/m") == "postgres//app:***@db/m"
    assert mask_url("postgresql:/app:s3cret-pw@db/m") == "postgresql:***@db/m"
    assert mask_url("app:s3c@ret@db/m") == "app:***@db/m"
    assert mask_url("nothing@to-hide.example") == "nothing@to-hide.example"
    image = "registry.example.com/magent:0.1.0@sha256:0123abcd"  # config show masks every string: not this one
    assert mask_url(image) == image


def test_every_credential_looking_query_parameter_and_token_userinfo_is_masked():
    url = "https://h.example/x?a=1&api_key=k1k1k1&X-Amz-Signature=s1s1s1&access_token=t1t1t1#id_token=i1i1i1"
    assert mask_url(url) == "https://h.example/x?a=1&api_key=***&X-Amz-Signature=***&access_token=***#id_token=***"
    assert mask_url("https://ghp_tokentoken@github.com/o/r") == "https://***@github.com/o/r"
    assert mask_url("postgresql://app@db/m") == "postgresql://app@db/m"  # a user name alone is an account


def test_urls_with_nothing_to_hide_and_placeholders_are_unchanged():
    for text in ("https://api.mistral.ai", "http://a.example/health?", "env:MISTRAL_API_KEY",
                 "aws:prod/mistral#api_key", "postgresql://USER:PASSWORD@HOST:PORT/DB", "runbooks/"):
        assert mask_url(text) == text


def test_registry_masks_credentials_in_any_url_even_unregistered():
    line = 'HTTP Request: GET http://u:pw1@h:9090/api?query=up&token=zz "HTTP/1.1 200 OK"'
    assert SECRETS.mask(line) == 'HTTP Request: GET http://u:***@h:9090/api?query=up&token=*** "HTTP/1.1 200 OK"'


def test_secrets_in_settings_are_registered_wherever_they_nest():
    from magent.core.redact import register_secrets_in, url_secrets

    assert url_secrets("http://u:pw-one1@h/x?sig=sig-two2") == ["pw-one1", "sig-two2"]
    register_secrets_in({"deploy": {"analysis": {"web": {"url": "http://h/health?token=tok-three3"}}},
                         "list": ["u:pw-four4@db/m"], "n": 3})
    text = SECRETS.mask("echoed bare: tok-three3 pw-four4")
    assert "tok-three3" not in text and "pw-four4" not in text
