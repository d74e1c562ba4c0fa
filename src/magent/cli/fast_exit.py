"""Leave the process without the interpreter's teardown, for a command whose end a person is waiting for.

Once `magent rollback` has said "ROLLED BACK", printed its summary and closed its audit trail, nothing is left
to do, yet the interpreter would spend 0.1-1 s more freeing the ~1,000 modules it loaded (the kubernetes
client, pydantic, Rich) one dict at a time. A command opts in with `request()`; `main` then calls `leave(code)`,
which ends the process with `os._exit(code)` after doing what an ordinary exit does that matters:
the atexit callbacks (logging's flush, the kubernetes client's temporary certificate files, coverage), and
stdout and stderr flushed. It does not, and the ordinary exit takes over, while a non-daemon thread is alive
(the interpreter would wait for it) or when a stream cannot be flushed (a closed pipe: Python's own exit
reports it). Store connections are not a reason to stay: each is closed when its block ends (`Store.connection`),
and the embedded Postgres keeps running after any magent command by design (`magent db stop` stops it).
Only `main` called by the program's `__main__` (the `magent` script, `python -m magent`) leaves; `run()`
(`magent demo`) and a `main()` that other code calls and whose SystemExit it catches (the tests) never do.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

_requested = False


def request() -> None:
    """Ask `main` to leave with `os._exit` once the command returns (see the module docstring)."""
    global _requested
    _requested = True


def cancel() -> None:
    global _requested
    _requested = False


def leave(code: int) -> None:
    """End the process with `code` now if the command asked to and nothing pending needs the ordinary exit."""
    if not _requested:
        return
    cancel()
    run_exit_callbacks = getattr(atexit, "_run_exitfuncs", None)  # what Py_Finalize calls; absent: exit as usual
    if run_exit_callbacks is None or _pending_threads() or not _flushed():
        return
    run_exit_callbacks()
    _flushed()  # what a callback printed (its failure to be shown changes nothing now)
    os._exit(code)


def _pending_threads() -> bool:
    main = threading.main_thread()
    return any(thread is not main and thread.is_alive() and not thread.daemon for thread in threading.enumerate())


def _flushed() -> bool:
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return False
    return True
