"""code.resilience: Mistral clients retry with backoff and time out; no DEBUG logging of requests.

Reads the Python sources of `--repo` (as git sees them: `.gitignore` honoured, tests left out unless
`include_tests`) with `ast` (magent.core.resilience). Results:

    fail   a client without retry_config / timeout_ms, or mistralai/httpx/root loggers at DEBUG
    warn   none of those, but no circuit breaker, fallback or backoff in the code: attest
           `resilience.circuit-breaker` (a person knows what the code cannot show); or files that do not parse
    pass   otherwise
    skip   no --repo; no Python sources (other languages are named: this check reads Python only);
           no Mistral client in the Python sources
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.core.preflight import CheckResult, Finding
from magent.core.resilience import Evidence, FileAnalysis, analyse_python
from magent.core.text import counted

ATTEST_ITEM = "resilience.circuit-breaker"
_MAX_BYTES = 2 * 1024 * 1024
_DEFAULT_EXCLUDE = ["venv/", ".tox/", ".nox/", "site-packages/", "__pycache__/", "build/", "dist/"]
_OTHER_LANGUAGES = {".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".go", ".java", ".kt", ".rb", ".rs",
                    ".cs", ".php", ".scala", ".swift"}
_TEST_DIRS = {"tests", "test", "testing"}


class ResilienceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exclude: list[str] = Field(default_factory=list, description="gitignore-style globs of files not to read")
    include_tests: bool = Field(default=False, description="also read test files (tests/, test_*.py, conftest.py)")


def _is_test(rel: str) -> bool:
    path = PurePosixPath(rel)
    return (bool(_TEST_DIRS & set(path.parts[:-1])) or path.name.startswith("test_")
            or path.name.endswith("_test.py") or path.name == "conftest.py")


def _sources(root: Path, params: ResilienceParams) -> tuple[list[tuple[str, Path]], Counter[str]]:
    """Python files to read, and a count of other languages' source files by suffix."""
    from magent.services.repo import iter_files

    python, others = [], Counter()
    for rel, path in iter_files(root, exclude=[*_DEFAULT_EXCLUDE, *params.exclude]):
        suffix = path.suffix.lower()
        if suffix == ".py" and (params.include_tests or not _is_test(rel)):
            python.append((rel, path))
        elif suffix in _OTHER_LANGUAGES:
            others[suffix] += 1
    return python, others


def _analyse(path: Path) -> FileAnalysis | None:
    from magent.services.repo import read_bounded

    data = read_bounded(path, _MAX_BYTES)
    if data is None or len(data) > _MAX_BYTES:
        return None  # generated code, not the application's client setup
    return analyse_python(data.decode("utf-8", "replace"))


def run(ctx: CheckContext) -> CheckResult:
    if ctx.options.repo is None:
        return CheckResult.skipped("no repository given: pass --repo DIR to read its Python sources")
    params = ctx.params if isinstance(ctx.params, ResilienceParams) else ResilienceParams()
    sources, others = _sources(ctx.options.repo, params)
    if not sources:
        return _no_python(others)
    clients, findings, evidence, unparsed = 0, [], [], 0
    for rel, path in sources:
        analysis = _analyse(path)
        if analysis is None:
            continue
        clients += analysis.clients
        unparsed += not analysis.parsed
        evidence.extend((rel, item) for item in analysis.evidence)
        findings.extend(Finding(issue.message, file=rel, line=issue.line, column=issue.column, rule=issue.rule,
                                severity=issue.severity) for issue in analysis.issues)
    return _verdict(len(sources), clients, findings, evidence, unparsed)


def _no_python(others: Counter[str]) -> CheckResult:
    if not others:
        return CheckResult.skipped("no Python sources in --repo: code.resilience reads Python only")
    found = ", ".join(f"{n} {suffix}" for suffix, n in others.most_common(3))
    return CheckResult.skipped(f"no Python sources: code.resilience reads Python only (found {found} files); "
                               f"check retries and timeouts by hand and attest {ATTEST_ITEM}")


def _verdict(files: int, clients: int, findings: list[Finding], evidence: list[tuple[str, Evidence]],
             unparsed: int) -> CheckResult:
    serious = [f for f in findings if f.rule not in ("syntax-error", "root-debug-logging")]
    root_debug = [f for f in findings if f.rule == "root-debug-logging"]
    if not clients and not serious:  # a root logger at DEBUG matters here because of the SDK's loggers
        note = f" ({counted(unparsed, 'file')} did not parse)" if unparsed else ""
        return CheckResult.skipped(f"no Mistral(...) client in {counted(files, 'Python file')}{note}: nothing to check "
                                   "(a client built elsewhere, e.g. by a framework, is not seen)")
    if serious or root_debug:
        return CheckResult.failed(f"{counted(len(serious) + len(root_debug), 'resilience problem')} in "
                                  f"{counted(files, 'Python file')} ({counted(clients, 'Mistral client')})"
                                  f"{_breaker_note(evidence)}", findings)
    if not evidence:
        return CheckResult.warned(f"{counted(clients, 'Mistral client')} with retries and a timeout, but no circuit "
                                  f"breaker, fallback or backoff library in the code: if one exists, run "
                                  f"`magent preflight attest {ATTEST_ITEM} --by NAME --note HOW`", findings)
    if unparsed:
        return CheckResult.warned(f"{counted(unparsed, 'Python file')} did not parse; no problem in the "
                                  f"{counted(files - unparsed, 'other file')}{_breaker_note(evidence)}", findings)
    return CheckResult.passed(f"{counted(clients, 'Mistral client')} in {counted(files, 'Python file')}, with "
                              f"retries (backoff) and a timeout; no DEBUG request logging{_breaker_note(evidence)}")


def _breaker_note(evidence: list[tuple[str, Evidence]]) -> str:
    if not evidence:
        return f"; no circuit breaker or fallback seen (attest {ATTEST_ITEM})"
    rel, first = evidence[0]
    return f"; {first.kind}: {first.what} ({rel}:{first.line})"


register_check(CheckType("code.resilience", run, params=ResilienceParams,
                         summary="Mistral clients retry with backoff and time out; no DEBUG logging of requests"))
