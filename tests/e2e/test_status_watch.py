"""`magent status --watch` follows a deploy run elsewhere (a real deploy on the simulator, a watcher process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from fixtures.deploy import cluster, plant_canary_in_progress, web  # noqa: F401 - fixtures
from fixtures.deploy_process import DeployProcess


def _watcher(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "magent", "status", "-d", "web", "--watch", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_watch_follows_a_real_deploy_until_it_ends_one_line_per_change(web):  # noqa: F811
    """Two watchers of one real deploy (piped table lines, and -o json lines). Once both show it in progress, the
    deploy is stopped as CI stops a job (SIGTERM: the canary is aborted): both exit 1, the aborted outcome's code.
    (The other outcomes' codes, promoted 0 and unfinished 4: tests/unit/test_status_watch_end.py.)"""
    with DeployProcess("app:v2", "-d", "web", "--steps", "50", "--pause", "60s", "--interval", "1s") as deploy:
        deploy.wait_event("started")
        watcher, json_watcher = _watcher(), _watcher("-o", "json")
        first, first_json = watcher.stdout.readline(), json.loads(json_watcher.stdout.readline())
        assert "deploy " in first and first_json["deploy"]["in_progress"], first
        deploy.process.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=60)
        json_out, json_err = json_watcher.communicate(timeout=60)
        deploy.wait_exit()
    assert watcher.returncode == 1 and json_watcher.returncode == 1, err + json_err
    lines = [first.rstrip("\n"), *out.splitlines()]
    assert len(lines) >= 2 and len(set(lines)) == len(lines), lines  # piped: a line per change, no live view
    assert all(line.split()[0].endswith("Z") for line in lines)
    assert any("step 1/1 (50%)" in line and "app:v1 → app:v2" in line for line in lines), lines
    assert "aborted" in lines[-1] and "stable app:v1 4/4 ready" in lines[-1]
    assert "\x1b[" not in out and "aborted" in err and "Traceback" not in err + json_err
    records = [first_json, *(json.loads(line) for line in json_out.splitlines())]
    assert records[-1]["deploy"]["phase"] == "aborted" and all(r["at"].endswith("Z") for r in records)


def test_ctrl_c_exits_130_without_a_traceback(web):  # noqa: F811
    plant_canary_in_progress(web)
    watcher = _watcher()
    first = watcher.stdout.readline()
    assert "paused-for-analysis" in first and "step 2/2 (50%)" in first
    watcher.send_signal(signal.SIGINT)
    _, err = watcher.communicate(timeout=20)
    assert watcher.returncode == 130, err
    assert "Traceback" not in err


def test_timeout_is_exit_4_naming_where_the_deploy_is(cli, web):  # noqa: F811
    plant_canary_in_progress(web)
    result = cli("status", "-d", "web", "--watch", "--timeout", "1s")
    assert result.exit_code == 4, result.output
    assert "still in progress after 1s" in result.stderr and "step 2/2" in result.stderr


def test_bad_timeouts_are_usage_errors(cli, web):  # noqa: F811
    assert cli("status", "-d", "web", "--timeout", "5s").exit_code == 2
    result = cli("status", "-d", "web", "--watch", "--timeout", "soon")
    assert result.exit_code == 2 and "--timeout" in result.stderr


def test_watch_of_a_quiet_deployment_ends_at_once(cli, web):  # noqa: F811
    result = cli("status", "-d", "web", "--watch")
    assert result.exit_code == 0 and "successfully rolled out" in result.stderr
    assert result.stdout.count("\n") == 1 and "stable app:v1 4/4 ready" in result.stdout


def test_watch_lines_keep_non_ascii_text_as_the_other_outputs_do(capsys):
    from magent.cli.state import OutputFormat
    from magent.cli.status_watch import _print_change

    for fmt in (OutputFormat.json, OutputFormat.yaml):
        _print_change(fmt, {"deploy": {"reason": "café…"}}, "")
        assert "café…" in capsys.readouterr().out, fmt
