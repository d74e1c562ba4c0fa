"""Ctrl-C is reported as an interruption even when a library turned the KeyboardInterrupt into something else."""

import os
import signal

import pytest

from magent.cli import app as app_module
from magent.cli.interrupts import is_user_interrupt, sigint_seen, tracking_sigint
from magent.core import ctrl_c
from magent.core.errors import EXIT_INTERRUPTED


@pytest.fixture(autouse=True)
def _forget_ctrl_c():
    """The flag outlives tracking_sigint(): left set, a later test's real error would read as a Ctrl-C."""
    yield
    ctrl_c.reset()


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


def test_is_user_interrupt_is_ctrl_c_in_any_disguise_and_nothing_else():
    with tracking_sigint():
        assert is_user_interrupt(KeyboardInterrupt())
        assert not is_user_interrupt(RuntimeError("a real bug"))
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        assert is_user_interrupt(RuntimeError("SchemaError: Error building serializer: KeyboardInterrupt"))
        assert not is_user_interrupt(SystemExit(0))


def test_an_export_whose_library_swallowed_ctrl_c_says_no_file_was_written(monkeypatch, tmp_path):
    """The CI log of stop 14: Ctrl-C during a lazy SDK import came out as another exception, past the export's
    own handler, and the user read a bare "magent: interrupted" instead of what happened to the file."""
    from types import SimpleNamespace

    from rich.console import Console

    from magent.cli import conversations
    from magent.core.errors import Interrupted
    from magent.workflows.export import runner
    from magent.workflows.export.sinks import JsonlSink

    def swallowing_export(*args, **kwargs):
        _command_whose_library_swallows_ctrl_c(None, [])

    monkeypatch.setattr(runner, "run_export", swallowing_export)
    state = SimpleNamespace(err=Console(file=open(os.devnull, "w")), plain=True,
                            settings=SimpleNamespace(mistral=SimpleNamespace(timeout=5.0)))
    with tracking_sigint(), pytest.raises(Interrupted, match="no file was written"):
        conversations._run(state, "http://127.0.0.1:9", "k", JsonlSink(tmp_path / "x.jsonl"), None, None)
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("disguised", [False, True])
def test_an_export_run_ended_by_ctrl_c_is_recorded_interrupted_in_any_disguise(disguised):
    """A Ctrl-C a library turned into another exception was recorded in export_runs as a failed run."""
    from types import SimpleNamespace

    from magent.workflows.export.runner import ExportOptions, run_export

    class CtrlCWhileListingAgents:
        pacing = SimpleNamespace(requests=0, refused=0, retries=0)

        def agents(self):
            if not disguised:
                os.kill(os.getpid(), signal.SIGINT)
            _command_whose_library_swallows_ctrl_c(None, [])

    finished = []
    sink = SimpleNamespace(description="recorder", begin=lambda since: None,
                           finish=lambda status, counts, high_water: finished.append(status))
    with tracking_sigint(), pytest.raises((KeyboardInterrupt, RuntimeError)):
        run_export(CtrlCWhileListingAgents(), sink, ExportOptions())
    assert finished == ["interrupted"]
