"""The engine: checks side by side with their own timeouts, errors never fails, the verdict and exit code."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from fixtures.preflight import make_item

from magent.checks import CHECKS, CheckContext, CheckType, PreflightOptions, register_check
from magent.core.checklist import Checklist, ChecklistSection
from magent.core.config import Settings
from magent.core.errors import Unreachable
from magent.core.preflight import Attestation, CheckResult
from magent.core.redact import SECRETS
from magent.core.timeutil import utcnow
from magent.workflows.preflight import RunOptions, run_preflight, select_items, unknown_selectors


@pytest.fixture
def fake_checks():
    """Register throwaway check types for one test, and remove them afterwards."""
    added: list[str] = []

    def add(name: str, run) -> str:
        register_check(CheckType(name, run, summary=f"{name} for a test"))
        added.append(name)
        return name

    yield add
    for name in added:
        CHECKS.pop(name, None)


def checklist(*items, section="s") -> Checklist:
    return Checklist("t", "", "test", (ChecklistSection(id=section, title="S", items=list(items)),), "f" * 64)


def run(cl: Checklist, timeout_s: float = 5.0, attestations=None, **options):
    context = CheckContext(Settings(), PreflightOptions(timeout_s=timeout_s))
    return run_preflight(cl, context, RunOptions(**options), attestations=attestations)


def test_checks_run_side_by_side(fake_checks):
    barrier = threading.Barrier(4, timeout=3)  # passes only if four checks are running at the same time

    def meet(ctx):
        barrier.wait()
        return CheckResult.passed("met")

    items = [make_item(fake_checks(f"t.meet{i}", meet), id=f"t.meet{i}") for i in range(4)]
    report = run(checklist(*items))
    assert [item.status for item in report.items] == ["pass"] * 4
    assert report.ready and report.exit_code == 0


def test_a_hung_check_is_an_error_after_its_timeout_and_does_not_hold_the_run(fake_checks):
    release = threading.Event()
    hung = fake_checks("t.hung", lambda ctx: release.wait(30) and CheckResult.passed("late"))
    quick = fake_checks("t.quick", lambda ctx: CheckResult.passed("quick"))
    started = time.monotonic()
    report = run(checklist(make_item(hung, timeout=0.3), make_item(quick)))
    release.set()
    assert time.monotonic() - started < 3
    assert report.items[0].status == "error" and "timed out after 0.3 s" in report.items[0].result.message
    assert report.items[1].status == "pass"
    assert report.exit_code == 3  # a critical item could not be checked in time


def test_crashes_and_unreachable_systems_are_errors_never_failures(fake_checks):
    def crash(ctx):
        raise RuntimeError("boom")

    def unreachable(ctx):
        raise Unreachable("Kubernetes API at https://k8s unreachable", hint="check KUBECONFIG")

    report = run(checklist(make_item(fake_checks("t.crash", crash)), make_item(fake_checks("t.down", unreachable))))
    crashed, down = report.items
    assert crashed.status == "error" and "RuntimeError: boom" in crashed.result.message
    assert down.status == "error" and "hint: check KUBECONFIG" in down.result.message and down.unreachable
    assert not report.ready and report.exit_code == 3


def test_a_failure_wins_over_an_error(fake_checks):
    def unreachable(ctx):
        raise Unreachable("down")

    failing = fake_checks("t.fail", lambda ctx: CheckResult.failed("no"))
    report = run(checklist(make_item(failing), make_item(fake_checks("t.down2", unreachable))))
    assert report.exit_code == 1


def test_fail_on_decides_which_severities_block(fake_checks):
    failing = fake_checks("t.warnfail", lambda ctx: CheckResult.failed("no"))
    cl = checklist(make_item(failing, severity="warning"))
    assert run(cl).ready
    assert not run(cl, fail_on="warning").ready
    info = checklist(make_item(failing, severity="info"))
    assert run(info, fail_on="warning").ready


def test_only_and_skip_select_by_item_or_section(fake_checks):
    name = fake_checks("t.sel", lambda ctx: CheckResult.passed("ok"))
    cl = Checklist("t", "", "test", (
        ChecklistSection(id="a", title="A", items=[make_item(name, id="a.one"), make_item(name, id="a.two")]),
        ChecklistSection(id="b", title="B", items=[make_item(name, id="b.one")]),
    ), "0" * 64)
    ids = lambda placed: [p.item.id for p in placed]  # noqa: E731
    assert ids(select_items(cl, ["a"], [])) == ["a.one", "a.two"]
    assert ids(select_items(cl, ["b.one", "a.two"], [])) == ["a.two", "b.one"]
    assert ids(select_items(cl, [], ["a.one"])) == ["a.two", "b.one"]
    assert ids(select_items(cl, ["a"], ["a.two"])) == ["a.one"]
    assert ids(select_items(cl, [], ["b"])) == ["a.one", "a.two"]


def test_a_dotted_prefix_selects_every_item_under_it(fake_checks):
    name = fake_checks("t.prefix", lambda ctx: CheckResult.passed("ok"))
    cl = checklist(make_item(name, id="k8s.probes"), make_item(name, id="k8s.pdb"), make_item(name, id="k8sx.other"),
                   make_item(name, id="code.tests-pass"))
    assert [p.item.id for p in select_items(cl, ["k8s"], [])] == ["k8s.probes", "k8s.pdb"]
    assert [p.item.id for p in select_items(cl, [], ["k8s"])] == ["k8sx.other", "code.tests-pass"]
    assert unknown_selectors(cl, ["k8s", "k8", "code.tests"]) == ["k8", "code.tests"]


def test_messages_are_masked_before_they_reach_the_report(fake_checks):
    key = "PlantedKey9xY8wV7uT6sR5qP4oN3mL2k"
    SECRETS.add(key)
    leaky = fake_checks("t.leak", lambda ctx: CheckResult.failed(f"found {key}"))
    report = run(checklist(make_item(leaky)))
    assert key not in str(report.to_dict())


def attestation(item, *, by="alice", age=timedelta(0), item_hash=None) -> Attestation:
    return Attestation(item.id, item_hash or item.definition_hash(), by, "checked", utcnow() - age, "f" * 64)


def test_manual_items_count_only_with_a_current_attestation():
    item = make_item("manual", id="oncall.rotation", severity="critical")
    cl = checklist(item)
    assert run(cl).items[0].status == "manual" and run(cl).ready
    fresh = run(cl, attestations={item.id: attestation(item)})
    assert fresh.items[0].status == "pass" and "attested by alice" in fresh.items[0].result.message
    stale = run(cl, attestations={item.id: attestation(item, age=timedelta(days=91))})
    assert stale.items[0].status == "manual" and "older than --max-age 90d" in stale.items[0].result.message
    changed = run(cl, attestations={item.id: attestation(item, item_hash="0" * 64)})
    assert changed.items[0].status == "manual" and "older definition" in changed.items[0].result.message


def test_require_attested_makes_unattested_manual_items_fail_whatever_their_severity():
    item = make_item("manual", id="monitoring.dashboard", severity="info")
    report = run(checklist(item), require_attested=True)
    assert report.items[0].status == "fail" and report.exit_code == 1


def test_an_unknown_check_type_is_reported_with_a_suggestion(fake_checks):
    from magent.checks import validate_item

    fake_checks("t.probes", lambda ctx: CheckResult.passed("ok"))
    assert validate_item(make_item("t.probe")) == "unknown check type 't.probe' (did you mean 't.probes'?)"
