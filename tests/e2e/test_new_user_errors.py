"""What a new user hits first: an unreachable cluster, a typo in magent.yaml's analysis, log lines in UTC."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from fixtures.mistral import SIM_API_KEY

from magent.cli.state import _utc_formatter
from magent.sandbox.mistral import FaultConfig

TOKEN = "PlantedKubeToken-5f3a9c"  # magent:allow (planted to prove masking)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kubeconfig(tmp_path, server: str):
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        f"users: [{{name: u, user: {{token: {TOKEN}}}}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u, namespace: shop}}]\ncurrent-context: x\n")
    return path


def test_an_unreachable_cluster_is_one_error_and_a_hint(cli, tmp_path):
    kubeconfig = _kubeconfig(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    for args in (("status", "-d", "agent"), ("rollback", "-d", "agent", "--yes")):
        result = cli(*args, env={"KUBECONFIG": str(kubeconfig)})
        assert result.exit_code == 3
        lines = result.stderr.splitlines()
        assert lines[0].startswith("Error: cannot reach the Kubernetes API at http://127.0.0.1:")
        assert lines[0].endswith("Connection refused"), lines[0]  # not "MaxRetryError"
        assert lines[1].startswith("Hint: ") and len(lines) == 2, result.stderr  # no urllib3 retry warnings
        assert TOKEN not in result.output


def test_a_bad_analysis_section_names_file_and_line_before_anything_runs(cli, tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text("deploy:\n  pause: 1m\n  analysis:\n    prometheus:\n      urll: http://prom:9090\n")
    result = cli("--config", str(path), "config", "show")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"Error: {path}:5: deploy.analysis.prometheus.urll: unknown key"
    assert "Canary analysis" in result.stderr


def test_log_lines_are_stamped_in_utc_iso_8601():
    record = logging.LogRecord("magent.x", logging.WARNING, __file__, 1, "webhook failed", None, None)
    record.created, record.msecs = 1795465324.620, 620.0  # 2026-11-23T20:22:04.620Z
    assert _utc_formatter().format(record) == "2026-11-23T20:22:04.620Z WARNING magent.x: webhook failed"


def test_ctrl_c_during_an_export_says_what_happened_and_what_to_do(make_mistral_sim, tmp_path):
    sim = make_mistral_sim(conversations=60, faults=FaultConfig(latency_ms=150))
    target = tmp_path / "export.jsonl"
    env = {**os.environ, "MISTRAL_API_KEY": SIM_API_KEY, "MAGENT_MISTRAL_URL": sim.url}
    process = subprocess.Popen([sys.executable, "-m", "magent", "conversations", "export", "-c", "1",
                                "--to", f"jsonl:{target}", "-o", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stderr.readline().startswith("exporting from ")
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert out == ""  # nothing half-written on stdout for a JSON consumer
    assert "interrupted; no file was written" in err and "Hint: run the command again" in err  # typer said nothing
    assert "Traceback" not in err and not target.exists()


def test_demo_serve_prints_its_export_line_unwrapped_for_copy_paste(monkeypatch):
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from magent.cli.demo import _serve_until_interrupted

    stderr = io.StringIO()
    state = SimpleNamespace(err=Console(file=stderr, width=40, no_color=True))
    stack = SimpleNamespace(env={"MAGENT_MISTRAL_URL": "http://127.0.0.1:34795", "KUBECONFIG": "/tmp/demo/kubeconfig",
                                 "MAGENT_CONFIG": "/tmp/demo/magent.yaml", "MISTRAL_API_KEY": "sandbox-throwaway-key"})

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", interrupt)
    _serve_until_interrupted(state, stack)
    line = next(line for line in stderr.getvalue().splitlines() if "export " in line)
    # issue 9 §6: the sandbox's throwaway key is printed on purpose, so a person can use the sandbox
    assert "KUBECONFIG=/tmp/demo/kubeconfig" in line and "MAGENT_CONFIG=/tmp/demo/magent.yaml" in line
    assert line.endswith("MISTRAL_API_KEY=sandbox-throwaway-key")


def test_global_options_after_the_command_work_as_before_it(cli, tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text("profiles:\n  dev:\n    kubernetes: {namespace: dev-ns}\n")
    after = cli("config", "show", "-o", "json", "--config", str(path), "--profile", "dev", "--debug", "--no-color")
    before = cli("--config", str(path), "--profile", "dev", "config", "show", "-o", "json")
    assert after.exit_code == before.exit_code == 0, after.stderr
    assert after.stdout == before.stdout and '"dev-ns"' in after.stdout
    missing = cli("key", "verify", "--profile", "nope", "--config", str(path))
    assert missing.exit_code == 2
    assert missing.stderr.splitlines()[0] == f"Error: profile 'nope' not found in {path}"


HOSTILE_FLAGS = [
    (("usage", "report", "--until", "9999-12-31T23:59:59Z"), "--until: invalid time '9999-12-31T23:59:59Z'"),
    (("usage", "report", "--since", "0001-01-01T00:00:00+05:00"), "before the year 1 in UTC"),
    (("usage", "report", "--since", "99999999999999999999999999d"), "more than 100 years"),
    (("usage", "report", "--since", "7"), "a number needs a unit"),
    (("config", "show", "--profile", "x" * 5000), "not found"),
]


@pytest.mark.parametrize(("args", "expected"), HOSTILE_FLAGS, ids=[" ".join(a)[:40] for a, _ in HOSTILE_FLAGS])
def test_hostile_flag_values_are_one_error_line_and_exit_2(tmp_path, capsys, args, expected):
    from magent.cli.app import run

    code = run(["--config", str(tmp_path / "none.yaml"), *args] if args[0] != "usage" else list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err.splitlines()[0] and "Traceback" not in err
