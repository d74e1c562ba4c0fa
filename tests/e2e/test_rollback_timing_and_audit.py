"""`magent rollback`: its figures leave out the person at the prompt, its audit trail is complete, and the real
process loads only the kubernetes client modules it uses."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time

import yaml
from fixtures.deploy import cluster, plant_canary_in_progress, web  # noqa: F401 - fixtures

ANSWER_DELAY_S = 1.0


class _SlowTerminal(io.StringIO):
    """A terminal whose person takes ANSWER_DELAY_S to answer yes."""

    def __init__(self) -> None:
        super().__init__("y\n")

    def isatty(self) -> bool:
        return True

    def readline(self, *args: object) -> str:
        time.sleep(ANSWER_DELAY_S)
        return super().readline()


def _rows(pg_url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        return conn.execute(sql).fetchall()


def test_request_seconds_leave_out_the_time_to_answer_the_prompt(cli, web, monkeypatch):  # noqa: F811
    web.set_image("app:v2")
    monkeypatch.setattr(sys, "stdin", _SlowTerminal())
    began = time.monotonic()
    result = cli("rollback", "-d", "web")
    wall = time.monotonic() - began
    assert result.exit_code == 0, result.stderr
    summary = float(re.search(r"request_seconds\s+([\d.]+)", result.stdout).group(1))
    event = float(re.search(r"rollback request sent \(undo, ([\d.]+) s\)", result.stderr).group(1))
    assert summary == event
    # everything the command did, but the person's second at the prompt: the request fits in what remains
    assert summary < wall - ANSWER_DELAY_S, (summary, wall)
    assert web.image() == "app:v1"


def test_a_failed_rollback_is_recorded_with_its_reason(cli, web, pg_url, kube_sim):  # noqa: F811
    web.set_image("app:v2")
    kube_sim.set_ready_delay(30.0)  # the undone pods never get ready within the rollout timeout below
    with open("magent.yaml", "w") as handle:
        yaml.safe_dump({"deploy": {"rollout_timeout": "1s"}}, handle)
    result = cli("rollback", "-d", "web", "--yes", env={"MAGENT_DATABASE_URL": pg_url})
    assert result.exit_code == 4, result.stderr
    rows = _rows(pg_url, "SELECT image, previous_image, outcome, reason, finished_at IS NOT NULL FROM deployments")
    assert len(rows) == 1 and rows[0][:3] == ("app:v1", "app:v2", "rollback_failed")
    assert "timed out after 1s waiting for deployment web" in rows[0][3] and rows[0][4]
    kinds = [r[0] for r in _rows(pg_url, "SELECT kind FROM deployment_events ORDER BY id")]
    assert kinds == ["rollback_requested", "rollback_failed"]


def test_the_rollback_process_records_everything_and_loads_few_kubernetes_modules(web, pg_url, tmp_path):  # noqa: F811
    """The real process (not in-process): the audit is written after "ROLLED BACK" and still complete at exit."""
    plant_canary_in_progress(web)
    env = {**os.environ, "MAGENT_DATABASE_URL": pg_url, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "magent", "rollback", "-d", "web", "--yes",
                           "--reason", "5xx after v2"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert any("ROLLED BACK: web runs app:v1" in line for line in lines), lines
    (row,) = _rows(pg_url, "SELECT image, previous_image, outcome, reason, actor FROM deployments")
    assert row[:4] == ("app:v1", "app:v2", "rolled_back", "5xx after v2") and "@" in row[4]
    kinds = [r[0] for r in _rows(pg_url, "SELECT kind FROM deployment_events ORDER BY id")]
    assert kinds == ["rollback_requested", "rolled_back"]
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    models = [name for name in imported if name.startswith("kubernetes.client.models.")]
    assert len(models) < 10, f"{len(models)} kubernetes model modules imported by a rollback"
    assert not any(name.startswith(("kubernetes.dynamic", "kubernetes.stream")) for name in imported)
