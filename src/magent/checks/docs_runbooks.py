"""`docs.runbooks`: the runbooks the checklist names exist, with their required sections.

    - id: docs.runbooks
      check: docs.runbooks
      params:
        required: {incident: [Symptoms, Check, Act, Verify, Escalate], ...}   # default: magent's five
        dir: docs/runbooks      # default: runbooks/ of --repo when it has one, else the runbooks magent ships

`dir` is relative to --repo (or the working directory without --repo) and may not leave it; a runbook that is
a symbolic link out of the directory is not followed (a finding).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath

from pydantic import BaseModel, ConfigDict, Field, field_validator

from magent.checks import CheckContext, CheckType, register_check
from magent.core import runbooks
from magent.core.preflight import CheckResult, Finding
from magent.core.text import counted

_DOES_NOT_EXIST = "does not exist"
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "runbooks"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    required: dict[str, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in
                                                                    runbooks.DEFAULT_REQUIRED.items()})
    dir: str | None = None

    @field_validator("required")
    @classmethod
    def _names(cls, required: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in required:
            if not re.match(runbooks.NAME_PATTERN, name) or name in (".", ".."):
                raise ValueError(f"runbook name {name!r} must be a file name without a path (e.g. incident)")
        return required

    @field_validator("dir")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is not None and (PurePath(value).is_absolute() or ".." in PurePath(value).parts or not value):
            raise ValueError(f"{value!r} must be a directory inside the repository (relative, without '..')")
        return value


def run(ctx: CheckContext) -> CheckResult:
    params = ctx.params if isinstance(ctx.params, Params) else Params()
    root = (ctx.options.repo or Path.cwd()).resolve()
    directory, origin, label = _directory(params, root, ctx.options.repo is not None)
    if directory is None:
        return CheckResult.failed(f"{label} {origin}: create it with the runbooks, or fix params.dir",
                                  _absent(params, label, origin))
    findings: list[Finding] = []
    for name, sections in params.required.items():
        findings.extend(_check_runbook(directory, name, sections, label))
    if findings:
        missing = sum(f.rule != "missing-section" for f in findings)
        parts = [f"{counted(missing, 'runbook')} missing"] if missing else []
        if len(findings) > missing:
            parts.append(f"{counted(len(findings) - missing, 'required section')} missing")
        return CheckResult.failed(f"{' and '.join(parts)} in {label} ({origin}): add them; magent's runbooks "
                                  f"in {SHIPPED_DIR} are templates", findings)
    return CheckResult.passed(f"{len(params.required)} runbooks with their required sections in {label} ({origin})")


def _directory(params: Params, root: Path, has_repo: bool) -> tuple[Path | None, str, str]:
    """(the directory or None, where it comes from or why it cannot be used, its name in findings)."""
    if params.dir is not None:
        label = PurePath(params.dir).as_posix().rstrip("/") + "/"
        return _inside(root / params.dir, root, label, "params.dir")
    if has_repo and ((root / "runbooks").is_dir() or (root / "runbooks").is_symlink()):
        return _inside(root / "runbooks", root, "runbooks/", "the repository's")
    why = "--repo has no runbooks/" if has_repo else "no --repo given"
    return SHIPPED_DIR, f"the runbooks magent ships, as {why}; copy them into runbooks/ and adapt them", \
        "runbooks/"


def _inside(candidate: Path, root: Path, label: str, origin: str) -> tuple[Path | None, str, str]:
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root):
        return None, f"leads outside {root} (a symbolic link): not followed", label
    if not resolved.is_dir():
        return None, _DOES_NOT_EXIST, label
    return resolved, origin, label


def _absent(params: Params, label: str, why: str) -> list[Finding]:
    if why == _DOES_NOT_EXIST:  # every runbook is missing, each at the place it should be
        return [Finding(f"runbook {name} is missing: {label} does not exist", file=f"{label}{name}.md",
                        rule="missing-runbook") for name in params.required]
    return [Finding(f"{label} {why}", rule="outside")]


def _check_runbook(directory: Path, name: str, sections: list[str], label: str) -> list[Finding]:
    shown = f"{label}{name}.md"
    path = directory / f"{name}.md"
    if path.is_symlink() and not path.resolve().is_relative_to(directory):
        return [Finding(f"{shown} is a symbolic link out of {label}: not followed", file=shown, rule="outside")]
    if not path.is_file():
        return [Finding(f"runbook {name} is missing: add {shown} with sections {', '.join(sections)}",
                        file=shown, rule="missing-runbook")]
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [Finding(f"cannot read {shown}: {exc.strerror}", file=shown, rule="unreadable")]
    missing = runbooks.missing_sections(text, sections)
    line = runbooks.title_line(text)
    return [Finding(f"{shown} has no '{section}' section (a '#' or '##' heading)", file=shown, line=line,
                    rule="missing-section") for section in missing]


register_check(CheckType("docs.runbooks", run, params=Params,
                         summary="The runbooks the checklist names exist and have their required sections"))
