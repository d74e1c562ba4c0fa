"""`magent rollback` leaves without the interpreter's teardown once its outcome is shown and recorded
(`magent.cli.fast_exit`), and only when nothing pending needs the ordinary exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

# An object only the interpreter's teardown frees (a module global of __main__), and an atexit callback: a
# fast exit must run the callback and skip the teardown.
_PROBES = """
import atexit, sys

class _TeardownProbe:
    def __del__(self):
        sys.stderr.write("interpreter teardown\\n")

_probe = _TeardownProbe()
atexit.register(lambda: sys.stderr.write("atexit ran\\n"))
"""


def _python(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _PROBES + textwrap.dedent(script), *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_a_rollback_leaves_after_its_summary_and_audit_without_the_interpreter_teardown(web):  # noqa: F811
    web.set_image("app:v2")
    script = """
        from magent.cli.app import main
        sys.argv = ["magent", *sys.argv[1:]]
        main()
    """
    done = _python(script, "rollback", "-d", "web", "--yes", env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ROLLED BACK: web runs app:v1" in done.stderr
    assert "rolled_back" in done.stdout and "app:v1" in done.stdout  # the summary table, flushed before leaving
    assert "atexit ran" in done.stderr
    assert "interpreter teardown" not in done.stderr
    assert web.image() == "app:v1"


def test_a_requested_fast_exit_runs_the_exit_callbacks_flushes_and_keeps_the_code():
    done = _python("""
        from magent.cli import fast_exit
        fast_exit.request()
        print("the outcome", end="")  # still buffered: leave() flushes it
        fast_exit.leave(4)
        print("not reached")
    """)
    assert (done.returncode, done.stdout) == (4, "the outcome")
    assert done.stderr == "atexit ran\n"


def test_no_fast_exit_while_a_non_daemon_thread_runs_or_when_not_requested():
    done = _python("""
        import threading, time
        from magent.cli import fast_exit
        worker = threading.Thread(target=time.sleep, args=(0.2,))
        worker.start()
        fast_exit.request()
        fast_exit.leave(0)
        print("returned: the thread is waited for", flush=True)
        fast_exit.leave(0)  # the request was used up
        print("returned again", flush=True)
    """)
    assert done.returncode == 0
    assert done.stdout.splitlines() == ["returned: the thread is waited for", "returned again"]
    assert "atexit ran" in done.stderr and "interpreter teardown" in done.stderr

