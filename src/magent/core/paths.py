"""Paths typed by a person."""

from __future__ import annotations

from pathlib import Path


def expand_user(path: str | Path) -> Path:
    """`~/x` and `~alice/x` as a shell expands them; `~nosuchuser/x` stays as typed, as bash leaves it (pathlib
    raises RuntimeError there, which reached the user as a traceback)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


def is_file(path: Path) -> bool:
    """Path.is_file, False for a name the file system cannot hold (ENAMETOOLONG raises in Python 3.11)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
