"""`one_line`: the one helper that fits outside text (errors, bodies) into a message line."""

from __future__ import annotations

from magent.core.redact import SECRETS, one_line


def test_folds_whitespace_masks_secrets_and_cuts_with_an_ellipsis():
    secret = "s3cr3t-one-line-token-value"
    SECRETS.add(secret)
    assert secret not in one_line(f"refused\n\t token={secret}  ")
    assert one_line("a\n  b\tc") == "a b c"
    cut = one_line("x" * 500, limit=10)
    assert len(cut) == 10 and cut.endswith("…")
    assert one_line("short", limit=10) == "short"
