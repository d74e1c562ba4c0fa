"""code.tests-pass: the application's test suite passes.

`--tests-cmd` is split with shlex and run without a shell, in `--repo` (or the current directory), with the
environment inherited and stdin closed. It runs in its own process group so that on timeout the whole tree
(pytest workers, servers the tests started) is killed, not only the first process. Output goes to a temporary
file rather than a pipe: a grandchild that keeps a pipe open could otherwise hold the check forever.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.core.preflight import CheckResult, Finding
from magent.core.redact import SECRETS

_TAIL_LINES = 10
_TAIL_BYTES = 64 * 1024
_TERM_GRACE_S = 2.0


class SuiteParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(default=600.0, gt=0, description="seconds before the tests are killed")


def _limit(ctx: CheckContext, params: SuiteParams) -> float:
    """Finish a little before the engine gives up on the item, so that we (not it) kill the process tree."""
    budget = (ctx.item.timeout if ctx.item and ctx.item.timeout else None) or ctx.options.timeout_s
    margin = min(2.0, budget * 0.05)
    return max(0.1, min(params.timeout, budget - margin))


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the whole group is already gone


def _kill_group(process: subprocess.Popen) -> None:
    """SIGTERM the group (pytest writes its summary), then SIGKILL whatever is left, leader or children."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=_TERM_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _tail(output: Path) -> list[str]:
    with output.open("rb") as handle:
        handle.seek(max(0, output.stat().st_size - _TAIL_BYTES))
        text = handle.read().decode("utf-8", errors="replace")
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return [SECRETS.mask(line) for line in lines[-_TAIL_LINES:]]


def _run(argv: list[str], cwd: Path, limit: float, output: Path) -> tuple[int | None, float]:
    """(exit code, or None on timeout; seconds)."""
    began = time.monotonic()
    with output.open("wb") as sink:
        process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink,  # noqa: S603
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code: int | None = process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            code = None
        except BaseException:
            _kill_group(process)
            raise
    return code, time.monotonic() - began


def run(ctx: CheckContext) -> CheckResult:
    command = ctx.options.tests_cmd
    if not command:
        return CheckResult.skipped("no test command: pass --tests-cmd 'pytest -q'")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return CheckResult.errored(f"cannot split --tests-cmd {command!r}: {exc}")
    if not argv:
        return CheckResult.errored("--tests-cmd is empty")
    params = ctx.params if isinstance(ctx.params, SuiteParams) else SuiteParams()
    cwd, limit = ctx.options.repo or Path.cwd(), _limit(ctx, params)
    shown = SECRETS.mask(command)
    with tempfile.TemporaryDirectory(prefix="magent-tests-") as scratch:
        output = Path(scratch) / "output.log"
        try:
            code, took = _run(argv, cwd, limit, output)
        except FileNotFoundError:
            where = "" if Path(cwd).is_dir() else f" (and {cwd} does not exist)"
            return CheckResult.errored(f"command not found: {argv[0]!r}{where}: install it or fix --tests-cmd")
        except PermissionError:
            return CheckResult.errored(f"cannot execute {argv[0]!r}: permission denied")
        except OSError as exc:
            return CheckResult.errored(f"cannot run {argv[0]!r}: {exc.strerror or exc}")
        tail = _tail(output)
    return _verdict(shown, code, took, limit, tail)


def _verdict(shown: str, code: int | None, took: float, limit: float, tail: list[str]) -> CheckResult:
    findings = [Finding("last lines of output:\n" + "\n".join(tail), rule="output")] if tail else []
    if code is None:
        return CheckResult.failed(f"tests did not finish within {limit:g} s (`{shown}` killed); raise the "
                                  f"item's `timeout:` or --timeout if the suite is this slow", findings)
    if code == 0:
        return CheckResult.passed(f"`{shown}` passed in {took:.1f} s")
    last = f": {tail[-1]}" if tail else ""
    how = f"was killed by signal {-code}" if code < 0 else f"exited {code}"
    return CheckResult.failed(f"`{shown}` {how} after {took:.1f} s{last}", findings)


register_check(CheckType("code.tests-pass", run, params=SuiteParams,
                         summary="The application's test suite passes (--tests-cmd)"))
