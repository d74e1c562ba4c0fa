"""`magent demo` runs the whole flow offline and every step behaves as the README says."""

import re

from magent.cli.demo import demo_steps


def test_demo_runs_every_step_as_expected(cli):
    from fixtures.postgres import private_tmp_dir

    # outside pytest's basetemp: as root the embedded Postgres runs as another user, who must traverse the path
    tmp_path = private_tmp_dir("magent-demo-test-")
    result = cli("demo", "--dir", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output[-3000:]
    steps = demo_steps("registry.local/agent", "agent")  # moto is in the test extra: every step runs
    assert any("key rotate" in " ".join(step.argv) for step in steps)
    summary = [line for line in result.stdout.splitlines() if re.search(r"\(expected \d+\)", line)]
    assert len(summary) == len(steps)
    assert all(" ok " in line for line in summary), summary
    # every step printed the command a user would type
    for step in steps:
        assert f"$ magent {' '.join(step.argv)}" in result.stderr
    # the on-call rollback undoes the promoted v2 (after the aborted v3 it had nothing to undo)
    assert "ROLLED BACK: agent runs registry.local/agent:v1" in result.output
    # the demo's throwaway key never appears: only its fingerprint
    key_line = next(line for line in result.stderr.splitlines() if "Mistral API simulator" in line)
    assert "sha256:" in key_line
    assert not re.search(r"\b[A-Za-z0-9]{32}\b", result.output), "something shaped like an API key was printed"
    assert (tmp_path / "demo" / "kubeconfig").is_file()
    # the embedded Postgres the demo started is stopped with it
    from magent.services.store.embedded import running_uri

    assert running_uri(tmp_path / "demo" / "data") is None


def test_demo_on_ecs_promotes_by_listener_weight_and_aborts_the_5xx_canary(cli, monkeypatch):
    from fixtures.postgres import private_tmp_dir

    from magent.cli.demo import ecs_demo_steps

    # the in-process moto reads this when a service is created: the demo must set it itself
    monkeypatch.delenv("MOTO_ECS_SERVICE_RUNNING", raising=False)
    tmp_path = private_tmp_dir("magent-demo-ecs-test-")
    result = cli("demo", "--target", "ecs", "--dir", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output[-3000:]
    steps = ecs_demo_steps("registry.local/agent")
    summary = [line for line in result.stdout.splitlines() if re.search(r"\(expected \d+\)", line)]
    assert len(summary) == len(steps) and all(" ok " in line for line in summary), summary
    assert "% of requests (listener weights)" in result.stderr
    assert "ecs/alb_5xx_ratio" in result.stderr
    assert not re.search(r"\b[A-Za-z0-9]{32}\b", result.output), "something shaped like an API key was printed"


def test_demo_rejects_an_unknown_target(cli):
    result = cli("demo", "--target", "nomad")
    assert result.exit_code == 2 and "not a demo target" in result.stderr
