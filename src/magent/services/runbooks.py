"""Runbooks on disk: which folder to read (the repository's `runbooks/`, or the ones magent ships), and its files.

The repository's folder wins when the current directory has a `runbooks/` with Markdown in it: a team's
runbooks (adapted from magent's templates) are the ones on-call should read. `--dir` and `--shipped` choose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

from magent.core.errors import UsageError
from magent.core.runbooks import NAME_PATTERN

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "runbooks"


@dataclass(frozen=True)
class RunbookFolder:
    path: Path
    source: str  # "repository" (./runbooks), "directory" (--dir) or "shipped"
    label: str  # how to name it to a person

    def names(self) -> list[str]:
        return sorted(path.stem for path in self.path.glob("*.md") if path.is_file())


def locate(cwd: Path, directory: Path | None = None, *, shipped: bool = False) -> RunbookFolder:
    """The folder to read: --dir, else --shipped, else ./runbooks when it holds Markdown, else magent's own."""
    if directory is not None:
        try:
            found = directory.is_dir()
        except OSError:  # a path too long for the file system
            found = False
        if not found:
            raise UsageError(f"runbook folder {str(directory)[:200]} does not exist",
                             hint="pass --dir with a folder of Markdown runbooks, or drop --dir")
        return RunbookFolder(directory, "directory", str(directory))
    local = cwd / "runbooks"
    if not shipped and local.is_dir() and any(local.glob("*.md")):
        return RunbookFolder(local, "repository", "./runbooks (this repository's)")
    return RunbookFolder(SHIPPED_DIR, "shipped", "the runbooks magent ships")


def read(folder: RunbookFolder, name: str) -> tuple[Path, str]:
    """(path, text) of runbook `name` (`incident` or `incident.md`); a UsageError naming close matches if absent."""
    stem = name[:-3] if name.endswith(".md") else name
    if not re.match(NAME_PATTERN, stem) or len(stem) > 200:  # a file name has at most 255 bytes
        raise UsageError(f"{name!r} is not a runbook name", hint="names are file names without .md, e.g. incident")
    path = folder.path / f"{stem}.md"
    if not path.is_file():
        raise UsageError(f"no runbook {stem!r} in {folder.label}", hint=_not_found_hint(folder, stem))
    try:
        return path, path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", hint="check the file's permissions") from exc


def _not_found_hint(folder: RunbookFolder, stem: str) -> str:
    names = folder.names()
    close = get_close_matches(stem, names, n=3, cutoff=0.5)
    if close:
        return f"did you mean {', '.join(close)}? `magent runbook` lists them"
    if folder.source != "shipped" and (SHIPPED_DIR / f"{stem}.md").is_file():
        return f"magent ships one: magent runbook {stem} --shipped"
    return f"`magent runbook` lists them: {', '.join(names) or 'none here'}"
