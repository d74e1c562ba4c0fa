"""Ctrl-C is reported as an interruption even when a library turned the KeyboardInterrupt into something else."""

import os
import signal

import pytest

from magent.cli import app as app_module
from magent.cli.interrupts import sigint_seen, tracking_sigint
from magent.core.errors import EXIT_INTERRUPTED


def test_the_tracker_sees_sigint_and_restores_the_default_handler():
    with tracking_sigint():
        assert not sigint_seen()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        assert sigint_seen()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_nested_run_leaves_the_outer_tracker_in_place():
    with tracking_sigint():
        outer = signal.getsignal(signal.SIGINT)
        with tracking_sigint():
            assert signal.getsignal(signal.SIGINT) is outer
        assert signal.getsignal(signal.SIGINT) is outer


def _command_whose_library_swallows_ctrl_c(command, argv):
    try:
        os.kill(os.getpid(), signal.SIGINT)
    except KeyboardInterrupt:
        raise RuntimeError("SchemaError: Error building serializer: KeyboardInterrupt") from None
    return 0


def test_a_swallowed_ctrl_c_exits_130_without_a_traceback(monkeypatch, capsys):
    monkeypatch.setattr(app_module, "_run_command", _command_whose_library_swallows_ctrl_c)
    assert app_module.run(["version"]) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err


def test_an_error_without_ctrl_c_is_still_a_bug_to_show(monkeypatch):
    def broken(command, argv):
        raise RuntimeError("a real bug")

    monkeypatch.setattr(app_module, "_run_command", broken)
    with pytest.raises(RuntimeError, match="a real bug"):
        app_module.run(["version"])
