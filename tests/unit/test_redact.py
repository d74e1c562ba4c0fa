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
