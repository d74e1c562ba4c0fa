"""Small text helpers for messages people read."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 image`, `0 images`, `1,234 images`: the count with thousands separators (as the tables print numbers)
    and the noun in the number it takes, as kubectl and gh write; `plural` for irregular words
    (`counted(n, "policy", "policies")`), else the noun plus `s`."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
