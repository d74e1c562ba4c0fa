"""`magent conversations export --plan / --worker / --cancel-plan` through the real entry point, in process."""

from __future__ import annotations

import json

import pytest
from fixtures.mistral import SIM_API_KEY


@pytest.fixture
def env(mistral_sim, pg_url):
    return {"MISTRAL_API_KEY": SIM_API_KEY, "MAGENT_MISTRAL_URL": mistral_sim.url, "MAGENT_DATABASE_URL": pg_url}


@pytest.mark.parametrize(("args", "message"), [
    (["--plan", "--worker"], "--plan and --worker cannot be used together"),
    (["--worker", "--cancel-plan", "1"], "--worker and --cancel-plan cannot be used together"),
    (["--plan", "--to", "jsonl:x.jsonl"], "--plan works with the Postgres store only"),
    (["--shards", "4"], "--shards is for --plan"),
    (["--plan", "--shard", "1/4"], "--shard is for --worker"),
    (["--worker", "--shard", "4/4"], "the index must be below 4"),
    (["--worker", "--shard", "three"], "is not I/N"),
    (["--worker", "--processes", "2"], "--processes does not apply to --worker"),
])
def test_bad_mode_flags_are_one_line_usage_errors(cli, env, args, message):
    result = cli("conversations", "export", *args, env=env)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


def test_plan_then_a_worker_then_the_next_plan_is_incremental(cli, env, mistral_sim):
    total = len(mistral_sim.data.conversations)
    missing = cli("conversations", "export", "--worker", "--shard", "0/2", env=env)
    assert missing.exit_code == 2 and "export --plan" in missing.stderr
    plan = cli("conversations", "export", "--plan", "--shards", "2", env=env)
    assert plan.exit_code == 0, plan.stderr
    assert "Export plan 1 in postgresql://postgres:***@" in plan.stdout and f"{total} conversations" in plan.stdout
    again = cli("conversations", "export", "--plan", env=env)
    assert again.exit_code == 2 and "--plan-id 1" in again.stderr and "--cancel-plan 1" in again.stderr
    worker = cli("conversations", "export", "--worker", "--shard", "1/2", "-o", "json", env=env)
    assert worker.exit_code == 0, worker.stderr
    summary = json.loads(worker.stdout)
    assert (summary["status"], summary["conversations"], summary["failed"]) == ("succeeded", total, 0)  # helped
    late = cli("conversations", "export", "--worker", "--plan-id", "1", "--shard", "0/2", "-o", "json", env=env)
    assert late.exit_code == 0 and json.loads(late.stdout)["conversations"] == 0  # a pod started after the end
    nothing = cli("conversations", "export", "--plan", "--shards", "3", "-o", "json", env=env)
    data = json.loads(nothing.stdout)
    assert (data["plan_id"], data["total"], data["skipped"], data["shards"]) == (2, 0, total, [0, 0, 0])
    empty = cli("conversations", "export", "--plan", "--shards", "3", env=env)  # an empty plan is done as made
    assert empty.exit_code == 0 and "nothing to export" in empty.stdout and "--submit" not in empty.stdout
    full = cli("conversations", "export", "--plan", "--full", "-o", "json", env=env)
    assert full.exit_code == 0 and json.loads(full.stdout)["total"] == total
    cancelled = cli("conversations", "export", "--cancel-plan", "4", env=env)
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.stdout
    twice = cli("conversations", "export", "--cancel-plan", "4", env=env)
    assert twice.exit_code == 2 and "not open" in twice.stderr
    export = cli("conversations", "export", "-o", "json", env=env)  # the single-process export after workers
    assert export.exit_code == 0 and json.loads(export.stdout)["conversations"] == 0
