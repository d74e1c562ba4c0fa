"""A repository on disk: walk its files as git would see them, scan them for keys, read and write baselines.

The walk honours `.gitignore` files (the root's, nested ones, and `.git/info/exclude`) with git's own
pattern semantics (`pathspec`'s gitwildmatch), always skips `.git`, `.venv` and `node_modules`, and never
follows a symbolic link (git stores a link, not what it points to; following one could leave the repository).
Paths are POSIX, relative to the repository root.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from magent.core.errors import ConfigError, UsageError
from magent.core.secretscan import Hit, baseline_document, parse_baseline, scan_text_hits

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

    from magent.core.preflight import Finding
    from magent.core.secretscan import BaselineKey

ALWAYS_SKIPPED = frozenset({".git", ".venv", "node_modules"})
DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024
_BINARY_PROBE = 8192

# (directory relative to the root, "" for the root; its spec): deepest last.
_Specs = list[tuple[str, "GitIgnoreSpec"]]


@dataclass
class RepoScan:
    """What a scan saw: hits (with the secrets, for verification and masking: never print them) and counts."""

    hits: list[Hit] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    seconds: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        return [hit.finding for hit in self.hits]


def scan_repo(root: Path, *, exclude: Sequence[str] = (), max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
              generic: bool = True) -> RepoScan:
    """Scan every file git would see under `root` (minus `exclude` globs) for hard-coded keys."""
    started = time.perf_counter()
    scan = RepoScan()
    for rel, path in iter_files(root, exclude=exclude):
        text = _read_text(path, max_file_bytes, scan)
        if text is not None:
            scan.hits.extend(scan_text_hits(text, rel, generic=generic))
    scan.seconds = time.perf_counter() - started
    return scan


def read_bounded(path: Path, max_bytes: int) -> bytes | None:
    """At most `max_bytes + 1` bytes of the file (so a caller can tell it is larger), or None when unreadable."""
    try:
        with open(path, "rb") as handle:
            return handle.read(max_bytes + 1)
    except OSError:
        return None


def _read_text(path: Path, max_file_bytes: int, scan: RepoScan) -> str | None:
    """The file's text, or None (counted) when it is too large, binary or unreadable."""
    data = read_bounded(path, max_file_bytes)
    if data is None:
        return None
    if len(data) > max_file_bytes:
        scan.skipped_large += 1
        return None
    if b"\x00" in data[:_BINARY_PROBE]:
        scan.skipped_binary += 1
        return None
    scan.files += 1
    scan.bytes += len(data)
    return data.decode("utf-8", "replace")


def iter_files(root: Path, *, exclude: Sequence[str] = ()) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path) of every regular file under `root` that git would not ignore."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"--repo {root}: not a directory", hint="pass --repo with the repository's root directory")
    specs: _Specs = []
    excluded = _spec(exclude) if exclude else None
    root_extra = _read_lines(root / ".git" / "info" / "exclude")
    yield from _walk(root, "", specs, excluded, root_extra)


def _walk(directory: Path, rel_dir: str, specs: _Specs, excluded: GitIgnoreSpec | None,
          extra: Sequence[str] = ()) -> Iterator[tuple[str, Path]]:
    lines = [*extra, *_read_lines(directory / ".gitignore")]
    if lines:
        specs = [*specs, (rel_dir, _spec(lines))]
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink() or entry.name in ALWAYS_SKIPPED:
            continue
        rel = f"{rel_dir}{entry.name}"
        is_dir = entry.is_dir(follow_symlinks=False)
        candidate = rel + "/" if is_dir else rel
        if _ignored(candidate, specs) or (excluded is not None and excluded.match_file(candidate)):
            continue
        if is_dir:
            yield from _walk(Path(entry.path), candidate, specs, excluded)
        elif entry.is_file(follow_symlinks=False):
            yield rel, Path(entry.path)


def _ignored(rel: str, specs: _Specs) -> bool:
    """git's answer: the deepest .gitignore with a matching pattern decides (its last match wins)."""
    for base, spec in reversed(specs):
        result = spec.check_file(rel[len(base):])
        if result.include is not None:
            return bool(result.include)
    return False


def _spec(lines: Iterable[str]) -> GitIgnoreSpec:
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(list(lines))


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


# --- baselines ---------------------------------------------------------------------------------------------

def load_baseline(path: Path) -> set[BaselineKey]:
    """The accepted findings of a baseline file; ConfigError (exit 2) naming the file when missing or bad."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"baseline {path}: {exc.strerror or exc}",
                          hint="create one with `magent preflight --repo DIR --write-baseline FILE`") from None
    return parse_baseline(text, str(path))


def write_baseline(path: Path, findings: Iterable[Finding]) -> None:
    """Write a baseline accepting `findings` (file, rule, fingerprint and line: never a secret)."""
    import json

    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    document = baseline_document(findings, now)
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
