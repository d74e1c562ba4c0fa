"""`--shard I/N`: which shard of an export plan a worker takes first."""

from __future__ import annotations

import re

MAX_SHARDS = 10_000
_SHARD = re.compile(r"([0-9]{1,6})/([0-9]{1,6})")


def parse_shard(text: str) -> tuple[int, int]:
    """(index, shards) from "I/N" with 0 <= I < N <= MAX_SHARDS; ValueError with a one-line reason otherwise."""
    match = _SHARD.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"--shard {text!r} is not I/N (e.g. 3/8: shard 3 of 8, counted from 0)")
    index, shards = int(match.group(1)), int(match.group(2))
    if not 1 <= shards <= MAX_SHARDS:
        raise ValueError(f"--shard {text!r}: the number of shards must be between 1 and {MAX_SHARDS}")
    if index >= shards:
        raise ValueError(f"--shard {text!r}: shards are counted from 0, so the index must be below {shards}")
    return index, shards
