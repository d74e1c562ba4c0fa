"""The sandbox's state file and directory: whatever is on disk, `status` / `up` / `down` read it without crashing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from magent.sandbox import daemon, extras


@settings(max_examples=200, deadline=None)
@given(content=st.one_of(st.binary(max_size=200),
                         st.builds(lambda v: json.dumps(v).encode(),
                                   st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                                                lambda inner: st.lists(inner, max_size=3)
                                                | st.dictionaries(st.sampled_from(["pid", "env", "x"]), inner,
                                                                  max_size=3)))))
def test_any_state_file_reads_as_a_state_with_an_integer_pid(tmp_path_factory, content):
    root = tmp_path_factory.mktemp("state")
    (root / daemon.STATE_FILE).write_bytes(content)
    state = daemon.read_state(root)
    assert isinstance(state["pid"], int) and state["pid"] >= 0 and not isinstance(state["pid"], bool)
    assert isinstance(state["env"], dict) and isinstance(state["components"], list)
    assert not daemon.pid_alive(0)


def test_state_round_trip_is_private(tmp_path):
    daemon.write_state(tmp_path, {"pid": 12, "env": {"A": "b"}})
    assert daemon.read_state(tmp_path) == {"pid": 12, "env": {"A": "b"}, "components": [], "child_pids": []}
    assert (tmp_path / daemon.STATE_FILE).stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [tmp_path / daemon.STATE_FILE]  # no temporary file left behind
    daemon.remove_state(tmp_path)
    assert daemon.read_state(tmp_path) is None


def test_default_dir_follows_xdg_state_home(tmp_path):
    assert daemon.default_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "magent" / "sandbox"
    assert daemon.default_dir({}) == Path.home() / ".local" / "state" / "magent" / "sandbox"


def test_pid_alive_knows_this_process_only_by_its_command_line():
    assert daemon.pid_alive(os.getpid(), marker="python") or not Path("/proc").is_dir()
    if Path("/proc").is_dir():
        assert not daemon.pid_alive(os.getpid(), marker="no-such-marker-in-a-command-line")


def test_prometheus_missing_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(extras.Missing, match="prometheus is not on PATH: install Prometheus"):
        with extras.run_prometheus(tmp_path / "prom", {"127.0.0.1:1": "shop"}):
            pass
