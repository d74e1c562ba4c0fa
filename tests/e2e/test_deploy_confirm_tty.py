"""`magent deploy` in a real terminal: the y/N question is on screen before the live view starts.

The child runs with stdin, stdout and stderr on a pseudo-terminal (the `pty` module), as in an engineer's shell,
against the Kubernetes simulator.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

PROMPT = "[y/N]"


class TerminalProcess:
    """`python -m magent ARGS` on a pty; `screen` is everything it has written so far."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
        self.process = subprocess.Popen([sys.executable, "-m", "magent", *args], stdin=slave, stdout=slave,
                                        stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.master, self.screen = master, ""

    def read_until(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            if not self._read(deadline - time.monotonic()):
                raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.screen}")
        return self.screen

    def _read(self, timeout: float) -> bool:
        if timeout <= 0:
            return False
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # the child closed the terminal
            return False
        self.screen += chunk.decode(errors="replace")
        return bool(chunk)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        while self._read(0.1):
            pass
        return self.process.wait(timeout=1)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self.master)


def test_deploy_asks_before_the_live_view_and_no_changes_nothing(web):  # noqa: F811
    term = TerminalProcess("deploy", "app:v2", "--deployment", "web", "--steps", "50", "--pause", "0s",
                           "--interval", "1s")
    try:
        before = term.read_until(PROMPT)
        assert "Canary app:v1 → app:v2 on web?" in before
        assert f"namespace {web.namespace}" in before  # announce() said where, first
        assert "canary pods" not in before and "phase" not in before  # the live view has not started
        term.type("n\r")
        code = term.wait()
    finally:
        term.close()
    assert code == 130, term.screen
    assert "cancelled; nothing was changed" in term.screen
    assert "canary pods" not in term.screen
    assert web.deployment("web-canary") is None and web.lease() is None and web.image() == "app:v1"


def test_deploy_yes_answer_then_runs_in_the_live_view(web):  # noqa: F811
    term = TerminalProcess("deploy", "app:v2", "--deployment", "web", "--steps", "50", "--pause", "0s",
                           "--interval", "1s")
    try:
        term.read_until(PROMPT)
        term.type("y\r")
        code = term.wait(timeout=60)
    finally:
        term.close()
    assert code == 0, term.screen
    after = term.screen.split(PROMPT, 1)[1]
    assert "canary pods" in after and "PROMOTED" in after
    assert web.image() == "app:v2"


def test_rollback_asks_a_short_question_under_its_plan_and_its_panel_names_the_image(cluster):  # noqa: F811
    # the whole plan was the question: in a terminal of 120 columns it wrapped mid-word; and once ROLLED BACK
    # the live panel read "image" with nothing beside it and rows of dashes for pods a rollback never counts
    cluster.create(replicas=2)
    cluster.set_image("app:v2")
    term = TerminalProcess("rollback", "--deployment", "web")
    try:
        before = term.read_until(PROMPT)
        lines = [line.strip() for line in before.replace("\r", "").splitlines()]
        assert "Roll back web to app:v1? [y/N]:" in lines, lines
        assert "Roll back web from app:v2 to app:v1 (revision 2 → 1)." in lines, lines
        term.type("y\r")
        code = term.wait(timeout=60)
    finally:
        term.close()
    assert code == 0, term.screen
    after = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", term.screen.split(PROMPT, 1)[1])  # the live view's redraws
    panel = [line for line in after.replace("\r", "\n").splitlines() if line.startswith("deployment ")][-1]
    assert panel.split()[-2:] == ["image", "app:v1"], panel
    assert "canary pods" not in after and "ROLLED BACK" in after
    assert cluster.image() == "app:v1"


def test_the_live_view_keeps_ctrl_c_from_echoing_over_it_and_gives_the_terminal_back(web):  # noqa: F811
    # the echoed ^C wrapped below a full-width view and Rich, redrawing from one line too low, left a stray line
    import signal
    import termios

    term = TerminalProcess("deploy", "app:v2", "--deployment", "web", "--steps", "50", "--pause", "30s",
                           "--interval", "1s", "--yes")
    try:
        assert termios.tcgetattr(term.master)[3] & termios.ECHOCTL  # a terminal's default
        term.read_until("canary pod")
        assert not termios.tcgetattr(term.master)[3] & termios.ECHOCTL  # quiet while the view is on screen
        term.process.send_signal(signal.SIGINT)
        code = term.wait(timeout=60)
        lflag = termios.tcgetattr(term.master)[3]
    finally:
        term.close()
    assert code == 130, term.screen
    assert lflag & termios.ECHOCTL and lflag & termios.ECHO and lflag & termios.ISIG  # given back as it was
    assert web.deployment("web-canary") is None
