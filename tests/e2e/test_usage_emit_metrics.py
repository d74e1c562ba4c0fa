"""`magent usage report --emit-metrics`: spend per model and hour published where the cost-spike alert reads it
(moto in server mode for CloudWatch, a temporary directory for the node-exporter textfile, promtool for the rule).

The sample data set (fixtures/usage.py) is moved to recent hours: conv_a (mistral-large-latest, $3.15) in
hour H = 2 days ago at 10:00, conv_b (codestral-2508, $0.24) at H + 22 h, conv_c (unpriced) at H + 37.5 h.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from conftest import require_tool
from fixtures.aws import aws_client
from fixtures.usage import DAY1, load_sample_usage, sample_pricing

from magent.core.alert_config import parse_alerts
from magent.core.alert_render import alarm_request, prometheus_rules
from magent.core.timeutil import isoformat

HOUR_A = (datetime.now(UTC) - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)


@pytest.fixture
def recent_url(store, pg_url):
    from magent.services.store.rollup import rebuild_usage_daily

    with store.connection() as conn:
        load_sample_usage(conn)
        shift = HOUR_A - (DAY1 + timedelta(hours=10))
        conn.execute("UPDATE conversation_entries SET created_at = created_at + %s", (shift,))
        conn.execute("UPDATE conversations SET created_at = created_at + %s, updated_at = updated_at + %s",
                     (shift, shift))
        conn.execute("DELETE FROM usage_daily")
        rebuild_usage_daily(conn)
    return pg_url


@pytest.fixture
def emit(cli, recent_url, moto_server, tmp_path):
    """`emit(*args, alerts=None)`: `magent usage report … ARGS` against the recent data and moto."""
    prices = str(sample_pricing(tmp_path))

    def run(*args: str, alerts: dict | None = None):
        config = tmp_path / "magent.yaml"
        config.write_text(yaml.safe_dump({"alerts": alerts or {},
                                          "aws": {"endpoint_url": moto_server, "region": "us-east-1"}}))
        return cli("--config", str(config), "usage", "report", "--pricing", prices, "-o", "json", *args,
                   env={"MAGENT_DATABASE_URL": recent_url})

    return run


def statistics(endpoint: str, request: dict, dimensions: list[dict] | None = None) -> list[dict]:
    """The datapoints the alarm `request` would evaluate, read with exactly its namespace, metric and dimensions."""
    answer = aws_client(endpoint, "cloudwatch").get_metric_statistics(
        Namespace=request["Namespace"], MetricName=request["MetricName"],
        Dimensions=request["Dimensions"] if dimensions is None else dimensions,
        StartTime=HOUR_A - timedelta(hours=1), EndTime=datetime.now(UTC), Period=request["Period"],
        Statistics=[request["Statistic"]])
    return sorted(answer["Datapoints"], key=lambda point: point["Timestamp"])


def test_cloudwatch_spend_is_what_the_cost_alarm_reads(emit, moto_server):
    config = {"cloudwatch": {"namespace": f"Test/{HOUR_A:%H%M%S%f}", "dimensions": {"Env": "prod"}}}
    since = isoformat(HOUR_A - timedelta(hours=1))
    result = emit("--since", since, "--emit-metrics", "cloudwatch", alerts=config)
    assert result.exit_code == 0, result.stderr
    assert "published 4 spend values to CloudWatch" in result.stderr  # 2 models + 2 hourly totals
    assert "no price for my-finetune" in result.stderr
    settings = parse_alerts(config)
    alarm = alarm_request(settings, settings.rule("cost-spike"))
    points = statistics(moto_server, alarm)
    assert [(p["Timestamp"], p[alarm["Statistic"]]) for p in points] == [
        (HOUR_A, pytest.approx(3.15)), (HOUR_A + timedelta(hours=22), pytest.approx(0.24))]
    per_model = statistics(moto_server, alarm, [*alarm["Dimensions"], {"Name": "Model", "Value": "codestral-2508"}])
    assert [p[alarm["Statistic"]] for p in per_model] == [pytest.approx(0.24)]
    again = emit("--since", since, "--emit-metrics", "cloudwatch", alerts=config)
    assert again.exit_code == 0
    assert [p[alarm["Statistic"]] for p in statistics(moto_server, alarm)] == [pytest.approx(3.15),
                                                                             pytest.approx(0.24)]


def test_emitting_still_prints_the_report_with_a_24_hour_window(emit):
    import json

    result = emit("--emit-metrics", "cloudwatch", alerts={"cloudwatch": {"namespace": "Test/Window"}})
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    since = datetime.fromisoformat(document["window"]["since"].replace("Z", "+00:00"))
    assert timedelta(hours=23, minutes=59) < datetime.now(UTC) - since < timedelta(hours=24, minutes=1)
    assert "mistral-large-latest" not in {row["model"] for row in document["rows"]}  # conv_a is ~40 h old


def test_textfile_holds_the_trailing_hour_and_the_rule_reads_it(emit, tmp_path):
    path = tmp_path / "magent_usage.prom"
    until = isoformat(HOUR_A + timedelta(minutes=30))
    result = emit("--until", until, "--since", isoformat(HOUR_A - timedelta(hours=1)), "--textfile", str(path))
    assert result.exit_code == 0, result.stderr
    text = path.read_text()
    assert 'magent_usage_cost_usd_last_hour{model="mistral-large-latest"} 3.150000' in text
    assert "# TYPE magent_usage_cost_usd_last_hour gauge" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # the temporary file is gone
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    for threshold, fires in ((3, True), (4, False)):
        assert promtool_fires(tmp_path, text, threshold) is fires


def promtool_fires(directory, textfile: str, threshold: float) -> bool:
    """Does the rendered cost-spike rule fire on the textfile's series (held for 10 minutes)?"""
    from prometheus_client.parser import text_string_to_metric_families

    settings = parse_alerts({"rules": {"cost-spike": {"threshold": threshold}}})
    (directory / "rules.yml").write_text(yaml.safe_dump(prometheus_rules(settings, [settings.rule("cost-spike")])))
    series = [{"series": series_name(s.name, s.labels), "values": f"{s.value}x10"}
              for family in text_string_to_metric_families(textfile) for s in family.samples]
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "alert_rule_test": [{"eval_time": "5m", "alertname": "MagentCostSpike", "exp_alerts": []}]}]}
    (directory / "test.yml").write_text(yaml.safe_dump(test))
    run = subprocess.run([require_tool("promtool", "apt-get install prometheus"), "test", "rules", "test.yml"],
                         cwd=directory, capture_output=True, text=True, timeout=60)
    assert "MagentCostSpike" in run.stdout + run.stderr or run.returncode == 0, run.stdout
    return run.returncode != 0  # "expected no alerts" failed: it fired


def series_name(name: str, labels: dict[str, str]) -> str:
    inside = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{name}{{{inside}}}"


@pytest.mark.parametrize(("args", "message"), [
    (("--emit-metrics", "prometheus-textfile"), "needs --textfile PATH"),
    (("--emit-metrics", "cloudwatch", "--textfile", "x.prom"), "--textfile goes with --emit-metrics"),
    (("--textfile", "usage.txt"), "node-exporter reads only *.prom files"),
    (("--textfile", "/nonexistent/dir/usage.prom"), "directory /nonexistent/dir does not exist"),
    (("--emit-metrics", "statsd"), "statsd"),
])
def test_bad_emit_options_are_usage_errors(cli, args, message, tmp_path):
    result = cli("usage", "report", *args, env={"MAGENT_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.stderr
