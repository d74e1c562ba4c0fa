"""code.tests-pass runs the real command (no shell), kills its whole process group on timeout."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest
from fixtures.preflight import PreflightOptions, run_check

from magent.core.redact import SECRETS

PY = shlex.quote(sys.executable)


def run_suite(command: str | None, tmp_path: Path, **kwargs):
    return run_check("code.tests-pass", options=PreflightOptions(repo=tmp_path, tests_cmd=command), **kwargs)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that never comes in a container is not running)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def test_skips_without_a_command(tmp_path):
    result = run_suite(None, tmp_path)
    assert result.status == "skip" and "--tests-cmd" in result.message


def test_a_passing_command_passes_with_its_duration(tmp_path):
    result = run_suite(f"{PY} -c pass", tmp_path)
    assert result.status == "pass" and "passed in" in result.message


def test_a_failing_command_fails_with_exit_code_and_tail(tmp_path):
    script = "import sys\nfor i in range(30): print('line', i)\nprint('1 failed, 2 passed')\nsys.exit(3)\n"
    (tmp_path / "suite.py").write_text(script)
    result = run_suite(f"{PY} suite.py", tmp_path)  # relative: proves cwd is --repo
    assert result.status == "fail"
    assert "exited 3" in result.message and result.message.endswith(": 1 failed, 2 passed")
    tail = result.findings[0].message.splitlines()
    assert tail[1:] == [*(f"line {i}" for i in range(21, 30)), "1 failed, 2 passed"]


def test_the_tail_is_masked(tmp_path):
    secret = "sk-planted-secret-1234567890"
    SECRETS.add(secret)
    result = run_suite(f"{PY} -c \"print('{secret}'); raise SystemExit(1)\"", tmp_path)
    assert result.status == "fail"
    assert secret not in result.message and all(secret not in f.message for f in result.findings)


def test_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    (tmp_path / "slow.py").write_text(script)
    began = time.monotonic()
    result = run_suite(f"{PY} slow.py", tmp_path, params={"timeout": 1.5})
    assert time.monotonic() - began < 15
    assert result.status == "fail" and "did not finish within 1.5 s" in result.message
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_the_engine_budget_caps_the_timeout(tmp_path):
    result = run_suite(f"{PY} -c \"import time; time.sleep(30)\"", tmp_path, timeout_s=2.0)
    assert result.status == "fail" and "did not finish within 1.9 s" in result.message


def test_command_not_found_is_an_error(tmp_path):
    result = run_suite("no-such-test-runner-xyz -q", tmp_path)
    assert result.status == "error" and "command not found: 'no-such-test-runner-xyz'" in result.message


def test_unbalanced_quotes_are_an_error(tmp_path):
    result = run_suite("pytest -k 'unclosed", tmp_path)
    assert result.status == "error" and "cannot split --tests-cmd" in result.message


def test_quoting_reaches_argv_without_a_shell(tmp_path):
    out = tmp_path / "argv.txt"
    code = f"import sys; open({str(out)!r}, 'w').write(repr(sys.argv[1:]))"
    result = run_suite(f"{PY} -c {shlex.quote(code)} 'two words' '$HOME' '; echo hi' \"a'b\"", tmp_path)
    assert result.status == "pass"
    assert out.read_text() == repr(["two words", "$HOME", "; echo hi", "a'b"])


@pytest.mark.parametrize("timeout", [0, -1])
def test_bad_timeout_param_is_rejected(timeout):
    with pytest.raises(ValueError, match="params.timeout"):
        run_check("code.tests-pass", params={"timeout": timeout})
