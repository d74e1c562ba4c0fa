"""A text too long for one resource tag, kept in several: AWS tag values hold at most 256 characters of a
restricted alphabet (letters, digits, spaces and `+ - = . _ : / @`), so the text is compressed, base64-encoded
(whose alphabet is inside the allowed one) and cut into numbered tags `PREFIX.0`, `PREFIX.1`, …"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping

TAG_VALUE_MAX = 256
MAX_CHUNKS = 20  # ECS allows 50 tags per resource; leave room for the owner's own


class TagChunksError(ValueError):
    """The tags do not hold a complete, readable text (missing chunk, foreign edit)."""


def to_tags(prefix: str, text: str) -> dict[str, str]:
    encoded = base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
    chunks = [encoded[i:i + TAG_VALUE_MAX] for i in range(0, len(encoded), TAG_VALUE_MAX)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise TagChunksError(f"{len(text)} characters do not fit in {MAX_CHUNKS} tags")
    return {f"{prefix}.{index}": chunk for index, chunk in enumerate(chunks)} | {f"{prefix}.n": str(len(chunks))}


def from_tags(prefix: str, tags: Mapping[str, str]) -> str | None:
    """The text kept under `prefix`, or None when there is none."""
    count = tags.get(f"{prefix}.n")
    if count is None:
        return None
    try:
        total = int(count)
        encoded = "".join(tags[f"{prefix}.{index}"] for index in range(total))
        return zlib.decompress(base64.b64decode(encoded, validate=True)).decode("utf-8")
    except (KeyError, ValueError, binascii.Error, zlib.error, UnicodeDecodeError) as exc:
        raise TagChunksError(f"the tags {prefix}.* are incomplete or were edited by hand ({exc})") from exc


def stale_keys(prefix: str, tags: Mapping[str, str], kept: Mapping[str, str]) -> list[str]:
    """Keys under `prefix` in `tags` that a write of `kept` leaves behind (a shorter text than before)."""
    return sorted(k for k in tags if k.startswith(f"{prefix}.") and k not in kept)
