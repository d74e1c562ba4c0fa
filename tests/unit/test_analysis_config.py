"""The `deploy.analysis` section: defaults, overrides, templating, and errors that name the bad key."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from magent.core.analysis_config import AnalysisTarget, expand, parse_analysis, promql_duration
from magent.core.config import load_settings
from magent.core.errors import EXIT_USAGE, ConfigError
from magent.core.judge import DEFAULT_THRESHOLDS

PROM = {"url": "http://prometheus:9090"}


def test_defaults_enable_nothing_and_follow_the_alert_table():
    settings = parse_analysis(None)
    assert settings.enabled_providers() == []
    assert settings.timeout == 5.0 and settings.statistics.alpha == 0.05
    for name, threshold in DEFAULT_THRESHOLDS.items():
        assert settings.thresholds.threshold(name) == threshold


def test_default_queries_carry_the_thresholds_and_metric_names():
    settings = parse_analysis({"thresholds": {"errors_5xx_per_min": 3},
                               "prometheus": {**PROM, "requests_metric": "app_requests_total", "track_label": "role"}})
    queries = {q.name: q for q in settings.prometheus.effective_queries(settings.thresholds)}
    assert list(queries) == ["errors_5xx_per_min", "rate_limited_429_per_min", "unauthorized_401", "latency_p95_seconds"]
    assert queries["errors_5xx_per_min"].max == 3 and queries["latency_p95_seconds"].max == 5
    assert queries["unauthorized_401"].max == 0
    assert all(q.per == "role" for q in queries.values())
    assert 'app_requests_total{code=~"5..",$selector}' in queries["errors_5xx_per_min"].query
    assert "histogram_quantile(0.95, sum by (role, le)" in queries["latency_p95_seconds"].query


def test_user_queries_add_to_or_replace_the_defaults():
    own = [{"name": "latency_p95_seconds", "query": "my_p95", "max": 2}, {"name": "tokens", "query": "t", "min": 1}]
    settings = parse_analysis({"prometheus": {**PROM, "queries": own}})
    names = [(q.name, q.query) for q in settings.prometheus.effective_queries(settings.thresholds)]
    assert names[-2:] == [("latency_p95_seconds", "my_p95"), ("tokens", "t")]
    assert len(names) == 5
    only = parse_analysis({"prometheus": {**PROM, "queries": own, "default_queries": False}})
    assert [q.name for q in only.prometheus.effective_queries(only.thresholds)] == ["latency_p95_seconds", "tokens"]


def test_providers_and_durations():
    settings = parse_analysis({
        "timeout": "2s",
        "web": {"url": "https://agent.example/health"},
        "prometheus": {**PROM, "min_window": "2m"},
        "cloudwatch": {"enabled": False},
        "mistral": {"enabled": True},
    })
    assert settings.enabled_providers() == ["web", "prometheus", "mistral"]
    assert settings.timeout == 2.0 and settings.prometheus.min_window == 120.0


def test_cloudwatch_takes_region_and_endpoint_from_the_aws_section():
    data = {"cloudwatch": {"namespace": "Agent", "metrics": [{"name": "e", "metric_name": "Errors", "max": 0}]}}
    aws = SimpleNamespace(region="eu-west-3", endpoint_url="http://127.0.0.1:5000")
    settings = parse_analysis(data, aws=aws)
    assert (settings.cloudwatch.region, settings.cloudwatch.endpoint_url) == ("eu-west-3", "http://127.0.0.1:5000")
    data["cloudwatch"]["region"] = "us-east-2"
    assert parse_analysis(data, aws=aws).cloudwatch.region == "us-east-2"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"prometheus": {}}, "deploy.analysis.prometheus: 'url' is required (or set enabled: false)"),
        ({"prometheus": {"url": "prometheus:9090"}}, "deploy.analysis.prometheus: 'url' must be an http:// or https:// URL"),
        ({"prometheus": {**PROM, "queries": [{"name": "a", "query": "up"}]}},
         "deploy.analysis.prometheus.queries.0: give a threshold: max or min"),
        ({"prometheus": {**PROM, "queries": [{"name": "a", "query": "up", "max": "lots"}]}},
         "deploy.analysis.prometheus.queries.0.max: Input should be a valid number, unable to parse string as a number"),
        ({"prometheus": {**PROM, "queries": [{"name": "a", "query": "x", "max": 1}] * 2}},
         "deploy.analysis.prometheus: duplicate query names: a"),
        ({"thresholds": {"latency_p99": 3}}, "deploy.analysis.thresholds.latency_p99: unknown key"),
        ({"statistics": {"alpha": 1.5}}, "deploy.analysis.statistics.alpha: Input should be less than 1"),
        ({"timeout": "soon"}, "deploy.analysis.timeout: invalid duration 'soon' (use e.g. 30s, 5m, 1h30m)"),
        ({"cloudwatch": {"metrics": [{"name": "e", "metric_name": "E", "max": 0}]}},
         "deploy.analysis.cloudwatch: give 'namespace' (for the section or for each metric)"),
        ({"cloudwatch": {"namespace": "A", "metrics": [{"name": "e", "metric_name": "E", "max": 0, "period": 45}]}},
         "deploy.analysis.cloudwatch.metrics.0.period: period must be 1, 5, 10, 30 or a multiple of 60 seconds"),
        ({"web": {"url": "http://h/health", "expect_status": 700}},
         "deploy.analysis.web.expect_status: Input should be less than or equal to 599"),
        (["prometheus"], "deploy.analysis: must be a mapping"),
    ],
)
def test_bad_settings_name_the_key(data, message):
    with pytest.raises(ConfigError) as caught:
        parse_analysis(data)
    assert caught.value.message == message
    assert caught.value.exit_code == EXIT_USAGE and "deploy.analysis" in caught.value.hint


def test_the_section_comes_from_magent_yaml(tmp_path):
    config = tmp_path / "magent.yaml"
    config.write_text("deploy:\n  analysis:\n    prometheus: {url: 'http://prom:9090', selector: 'app=\"agent\"'}\n")
    settings, _, _ = load_settings(str(config))
    analysis = parse_analysis(settings.deploy.analysis, aws=settings.aws)
    assert analysis.prometheus.selector == 'app="agent"'


def test_templates_and_durations():
    target = AnalysisTarget("shop", "agent", "agent-canary", "1.3", "1.4", window_s=30, mistral_api_key="k" * 32)
    variables = target.variables()
    assert expand('up{namespace="$namespace",version="$canary_version"}[$window] and "end$"', variables) == (
        'up{namespace="shop",version="1.4"}[30s] and "end$"')
    assert target.variables(90)["window"] == "90s"
    assert promql_duration(1.5) == "1500ms"
    assert "k" * 32 not in repr(target)
