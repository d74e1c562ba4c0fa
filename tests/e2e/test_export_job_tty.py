"""`conversations export --submit` followed on a terminal: the live bar, and Ctrl-C there.

magent runs in this process with its stderr on a pseudo-terminal (the bar is drawn only on a terminal; the piped
follower is test_export_job_cli's). Index 0's pod exports for real; index 1's pod holds on until the test is done,
so the Job is still running when the user presses Ctrl-C.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import sys
import termios
import threading
import time

import psycopg
from test_export_job_cli import INDEX, PodPlayer, env, plan_id, worker  # noqa: F401 - fixtures

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A pseudo-terminal of 200 columns; `text` is what was drawn on it, without control codes."""

    def __init__(self) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        self.master, self.screen = master, open(slave, "w", encoding="utf-8", buffering=1)  # noqa: SIM115
        self.chunks: list[bytes] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the slave side is closed
                return
            if not chunk:
                return
            self.chunks.append(chunk)

    def close(self) -> None:
        self.screen.close()
        self.reader.join(timeout=10)
        os.close(self.master)

    @property
    def text(self) -> str:
        return _ANSI.sub("", b"".join(self.chunks).decode(errors="replace")).replace("\r", "\n")

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text)
            if found:
                return found
            time.sleep(0.05)
        return None


def test_the_bar_on_a_terminal_and_ctrl_c_leaves_the_job_running(cli, env, plan_id, kube_sim,  # noqa: F811
                                                                 kube_namespace, mistral_sim, monkeypatch):
    job = f"magent-export-{plan_id}"
    total = len(mistral_sim.data.conversations)
    export_shard = worker(env)
    released, exported = threading.Event(), threading.Event()

    def pod(spec: dict) -> int:  # index 0 exports until the plan is done or cancelled; index 1 holds the Job on
        if spec["metadata"]["labels"][INDEX] != "0":
            released.wait(60)
            return 0
        try:
            return export_shard(spec)
        finally:
            exported.set()

    terminal = Terminal()
    bar: list[re.Match[str] | None] = []

    def user() -> None:  # watches the terminal, then presses Ctrl-C
        bar.append(terminal.wait_for(rf"exporting .*? ([1-9]\d*)/{total} .*? ((?!0\.0/)\d+\.\d)/s ETA .*?(\d+) workers "
                                     rf"live; pods (\d) active", timeout=60))  # a rate once rows were settled
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(sys, "stderr", terminal.screen)
    watcher = threading.Thread(target=user, daemon=True)
    try:
        with PodPlayer(kube_sim, kube_namespace, job, pod):
            watcher.start()
            result = cli("conversations", "export", "--submit", env=env)
            watcher.join(timeout=10)
            with psycopg.connect(env["MAGENT_DATABASE_URL"], autocommit=True) as conn:  # the pod stops at its claim
                conn.execute("UPDATE export_plans SET status = 'cancelled' WHERE id = %s", (plan_id,))
            exported.wait(30)
    finally:
        released.set()
        monkeypatch.undo()
        terminal.close()
    shown = " ".join(terminal.text.split())
    assert bar and bar[0] is not None, shown[-3000:]
    assert float(bar[0].group(2)) > 0 and int(bar[0].group(4)) >= 1, bar[0].group()
    assert result.exit_code == 130, shown[-3000:]
    assert f"stopped following; job {job} keeps running in namespace {kube_namespace}" in shown, shown[-3000:]
    assert f"kubectl delete job {job} -n {kube_namespace}" in shown and "Traceback" not in shown
    assert result.stdout == ""
    assert kube_sim.get("batch/v1", "Job", kube_namespace, job) is not None
