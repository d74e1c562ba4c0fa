"""Files that node-exporter's textfile collector reads: written atomically (a temporary file in the same
directory, then rename), so that a scrape never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from magent.core.errors import UsageError
from magent.core.paths import expand_user


def check_textfile(path: str | Path) -> Path:
    """`path` as a textfile target: it must end in .prom (all the collector reads), in a directory that exists."""
    target = expand_user(path)
    if target.suffix != ".prom":
        raise UsageError(f"--textfile {target}: node-exporter reads only *.prom files",
                         hint="name the file like /var/lib/node_exporter/textfile/magent_usage.prom")
    if not target.parent.is_dir():
        raise UsageError(f"--textfile {target}: directory {target.parent} does not exist",
                         hint="point --textfile into node-exporter's --collector.textfile.directory")
    return target


def write_textfile(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically (a temporary file in the same directory, then rename), mode 0644."""
    target = check_textfile(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, 0o644)  # the collector often runs as another user
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(f"cannot write --textfile {target}: {exc.strerror or exc}",
                         hint="check the directory's permissions") from None
    return target
