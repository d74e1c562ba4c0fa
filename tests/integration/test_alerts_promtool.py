"""The Prometheus rules of `magent alerts render` checked by the real promtool (2.42, Debian's): `check rules`,
the generated `test rules` unit tests (each alert fires on a bad series, stays silent on a good one), and the
rules evaluated on what the sandbox agent app really exports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import require_tool

from magent.core.alert_config import parse_alerts
from magent.core.alert_promtests import prometheus_tests
from magent.core.alert_render import alert_name, prometheus_rules, rule_annotations, rule_labels

CONFIGS = {
    "defaults": {},
    "configured": {
        "runbook_base_url": "https://wiki.example.com/runbooks",
        "prometheus": {"selector": 'namespace="shop",app="agent"', "group_by": ["namespace"], "rate_window": "5m",
                       "requests_metric": "agent_requests_total", "code_label": "status",
                       "error_codes": "50[23]", "cost_selector": 'job="node"'},
        "rules": {"api-down": {"threshold": 0.5, "severity": "P2"}, "auth-failures": {"threshold": 3},
                  "high-latency": {"threshold": 0.25, "statistic": "p99", "for": "10m"},
                  "cost-spike": {"threshold": 1000}, "circuit-breaker-open": {"enabled": False}},
    },
}


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([require_tool("promtool", "apt-get install prometheus"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def write(tmp_path: Path, config: dict, *, tests_for: dict | None = None) -> None:
    """alerts.rules.yml from `config`; alerts.test.yml generated from `tests_for` (default: the same config)."""
    settings = parse_alerts(config)
    (tmp_path / "alerts.rules.yml").write_text(yaml.safe_dump(prometheus_rules(settings, settings.table())))
    source = parse_alerts(tests_for if tests_for is not None else config)
    tests = prometheus_tests(source, source.table(), "alerts.rules.yml")
    (tmp_path / "alerts.test.yml").write_text(yaml.safe_dump(tests))


@pytest.mark.parametrize("name", CONFIGS)
def test_rules_pass_promtool_check_and_their_tests(tmp_path, name):
    write(tmp_path, CONFIGS[name])
    checked = promtool("check", "rules", "alerts.rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize(("rules", "alert"), [
    ({"api-down": {"threshold": 1000}}, "MagentApiDown"),  # never fires: the "fires" test must fail
    ({"auth-failures": {"threshold": 1000}}, "MagentAuthFailures"),
    ({"high-latency": {"threshold": 0.001}}, "MagentHighLatency"),  # always fires: the "silent" test must fail
    ({"cost-spike": {"severity": "P1"}}, "MagentCostSpike"),  # labels differ
])
def test_generated_tests_catch_a_wrong_rule(tmp_path, rules, alert):
    write(tmp_path, {"rules": rules}, tests_for={})
    tested = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert tested.returncode != 0
    assert alert in tested.stdout + tested.stderr


def test_cli_writes_what_promtool_accepts(cli, tmp_path):
    rules = cli("alerts", "render", "--format", "prometheus")
    tests = cli("alerts", "render", "-f", "prometheus-tests", "--rules-file", "alerts.rules.yml")
    assert rules.exit_code == tests.exit_code == 0, rules.stderr + tests.stderr
    (tmp_path / "alerts.rules.yml").write_text(rules.stdout)
    (tmp_path / "alerts.test.yml").write_text(tests.stdout)
    assert promtool("check", "rules", "alerts.rules.yml", cwd=tmp_path).returncode == 0
    tested = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout


# --- the rules against the sandbox agent app's real metrics ---------------------------------------------------

APP_ALERTS = ("api-down", "high-latency", "rate-limited", "auth-failures")


def sandbox_series(tag: str, minutes: int = 20) -> list[dict[str, str]]:
    """The sample app's /metrics, one scrape per simulated minute, as promtool input series."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from magent.sandbox.agentapp import AgentApp, TrackPods

    app = AgentApp(traffic_source=lambda: [TrackPods("stable", tag, 3)], seed=7)
    history: dict[str, list[float]] = {}
    for minute in range(minutes):
        app.generate(60)
        for family in text_string_to_metric_families(generate_latest(app.registry).decode()):
            for sample in (s for s in family.samples if not s.name.endswith("_created")):
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                history.setdefault(f"{sample.name}{{{labels}}}", [float("nan")] * minute).append(sample.value)
    return [{"series": name, "values": " ".join("_" if v != v else f"{v:g}" for v in values)}
            for name, values in history.items()]


@pytest.mark.parametrize(("tag", "firing"), [
    ("v1", None), ("v1-5xx", "api-down"), ("v1-slow", "high-latency"), ("v1-429", "rate-limited"),
    ("v1-401", "auth-failures"),
])
def test_default_rules_read_the_sandbox_metrics(tmp_path, tag, firing):
    settings = parse_alerts({})
    rules = {rule.name: rule for rule in settings.table()}
    (tmp_path / "alerts.rules.yml").write_text(yaml.safe_dump(prometheus_rules(settings, list(rules.values()))))
    expectations = [{
        "eval_time": "19m", "alertname": alert_name(rules[name]),
        "exp_alerts": [{"exp_labels": rule_labels(rules[name]),
                        "exp_annotations": rule_annotations(settings, rules[name])}] if name == firing else [],
    } for name in APP_ALERTS]
    test = {"rule_files": ["alerts.rules.yml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": sandbox_series(tag), "alert_rule_test": expectations}]}
    (tmp_path / "alerts.test.yml").write_text(yaml.safe_dump(test))
    tested = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout[-3000:]
