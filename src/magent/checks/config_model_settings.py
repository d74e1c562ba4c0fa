"""config.model-settings: model configuration files set max_tokens and temperature, and pin model versions.

The files are the `--model-config` globs (YAML, JSON, .env, Python), relative to `--repo` (or the current
directory). A glob that matches no file is an `error` (the check could not look at what it was pointed at);
files of other kinds that a glob happens to match are ignored.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.core.model_config import DEFAULT_REQUIRED, analyse, kind_of
from magent.core.paths import expand_user
from magent.core.preflight import CheckResult, Finding
from magent.core.text import counted

_MAX_BYTES = 2_000_000  # a model config larger than this is generated data, not configuration


class ModelSettingsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require: list[str] = Field(default_factory=lambda: list(DEFAULT_REQUIRED),
                               description="settings every model block must set")
    intentional_aliases: list[str] = Field(default_factory=list,
                                           description="-latest aliases allowed (added to mistral.intentional_aliases)")


def _matches(root: Path, pattern: str) -> list[Path]:
    path = expand_user(pattern)
    if path.is_absolute():
        anchor = Path(path.anchor)
        return sorted(p for p in anchor.glob(str(path.relative_to(anchor))) if p.is_file())
    inside = root.resolve()
    # a relative glob names files in the repository: never follow `..` or a symlink out of it
    return sorted(p for p in root.glob(pattern) if p.is_file() and p.resolve().is_relative_to(inside))


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _files(ctx: CheckContext, root: Path) -> list[Path] | CheckResult:
    found: dict[Path, None] = {}
    for pattern in ctx.options.model_config:
        try:
            matches = _matches(root, pattern)
        except (ValueError, OSError) as exc:
            return CheckResult.errored(f"bad --model-config glob {pattern!r}: {exc}")
        if not matches:
            return CheckResult.errored(f"no file matches --model-config {pattern!r} (relative to {root}, "
                                       f"inside it)")
        found.update(dict.fromkeys(matches))
    readable = [path for path in found if kind_of(path.name)]
    if not readable:
        return CheckResult.errored(f"--model-config matched {counted(len(found), 'file')}, "
                                   "none .yaml/.yml/.json/.env/.py")
    return readable


def _check_file(path: Path, shown: str, params: ModelSettingsParams,
                intentional: set[str]) -> tuple[int, list[Finding]]:
    """(model blocks found, findings) for one file; unreadable or non-UTF-8 files are findings too."""
    try:
        data = path.read_bytes()[:_MAX_BYTES]
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return 0, [Finding(f"not UTF-8 text (byte {exc.start})", file=shown, rule="parse-error")]
    except OSError as exc:
        return 0, [Finding(f"cannot read: {exc.strerror}", file=shown, rule="parse-error")]
    report = analyse(text, kind_of(path.name) or "", require=params.require, intentional=intentional)
    return report.blocks, [Finding(issue.message, file=shown, line=issue.line, column=issue.column, rule=issue.rule)
                           for issue in report.issues]


def run(ctx: CheckContext) -> CheckResult:
    if not ctx.options.model_config:
        return CheckResult.skipped("no model configuration given: pass --model-config GLOB (e.g. 'config/*.yaml')")
    root = ctx.options.repo or Path.cwd()
    files = _files(ctx, root)
    if isinstance(files, CheckResult):
        return files
    params = ctx.params if isinstance(ctx.params, ModelSettingsParams) else ModelSettingsParams()
    intentional = {*ctx.settings.mistral.intentional_aliases, *params.intentional_aliases}
    blocks, findings = 0, []
    for path in files:
        count, found = _check_file(path, _display(path, root), params, intentional)
        blocks += count
        findings.extend(found)
    where = counted(len(files), "file")
    if findings:
        return CheckResult.failed(f"{counted(len(findings), 'problem')} in the model settings of {where}", findings)
    if not blocks:
        return CheckResult.warned(f"no model settings found in {where} (a mapping with `model:`, a *_MODEL "
                                  f"variable, or a call with model=): is --model-config pointing at them?")
    return CheckResult.passed(f"{counted(blocks, 'model setting')} in {where}, each with {', '.join(params.require)}; "
                              f"no unmarked -latest alias")


register_check(CheckType("config.model-settings", run, params=ModelSettingsParams,
                         summary="Model settings set max_tokens and temperature, and pin model versions"))
