"""`magent rollback` after a deploy ended: never put back the version that was rolled away from (issue 9 §1.7)."""

from __future__ import annotations

from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

from magent.core.canary import Phase

FAST = ("--steps", "50", "--pause", "1s", "--interval", "1s", "--yes")


def test_after_an_aborted_deploy_there_is_nothing_to_undo(cli, web):  # noqa: F811
    web.set_image("app:v0")
    web.set_image("app:v1")
    assert cli("deploy", "app:v2-crashloop", "-d", "web", *FAST).exit_code == 1
    result = cli("rollback", "-d", "web", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "nothing to undo" in result.output and "--to-revision" in result.output
    assert web.image() == "app:v1"
    forced = cli("rollback", "-d", "web", "--yes", "--to-revision", "2")  # v1 took revision 3 back
    assert forced.exit_code == 0, forced.stderr
    assert web.image() == "app:v0"


def test_after_a_promotion_the_undo_names_both_revisions_and_a_second_one_does_nothing(cli, web):  # noqa: F811
    assert cli("deploy", "app:v2", "-d", "web", *FAST).exit_code == 0
    assert web.image() == "app:v2" and web.state().phase is Phase.PROMOTED
    plan = cli("rollback", "-d", "web", "--dry-run")
    assert "revision 2 → 1" in plan.output and "app:v1 is what ran before deploy" in plan.output, plan.output
    first = cli("rollback", "-d", "web", "--yes", "--reason", "5xx after v2")
    assert first.exit_code == 0, first.stderr
    assert web.image() == "app:v1"
    state = web.state()
    assert state.phase is Phase.ABORTED and "5xx after v2" in state.reason
    second = cli("rollback", "-d", "web", "--yes")
    assert second.exit_code == 0, second.stderr
    assert "nothing to undo" in second.output and "already rolled back" in second.output
    assert web.image() == "app:v1", "a second rollback put the bad version back"
