"""`magent config show` prints durations as magent.yaml spells them (`3s`, `90d`), and the settings printed by
`-o yaml` load back as a magent.yaml to the same settings; -o json keeps them in seconds."""

from __future__ import annotations

import json

import yaml

from magent.core.config import load_settings

CONFIG = ("deploy: {pause: 3s, interval: 90s, lease_duration: 1m, rollout_timeout: 1.5s}\n"
          "preflight: {max_age: 90d, timeout: 400ms}\n"
          "kubernetes: {request_timeout: 1h30m}\n"
          "mistral: {timeout: 45s}\n"
          "alerts: {prometheus: {rate_window: 5m}, rules: {high-latency: {for: 10m, period: 2m}}}\n")


def test_table_and_yaml_show_durations_as_written_and_json_in_seconds(cli, tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text(CONFIG)
    table = cli("--config", str(path), "config", "show", env={"COLUMNS": "200"}).stdout
    cells = {row[0]: row[1] for row in ([c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines())
             if len(row) == 3}
    assert (cells["deploy.pause"], cells["deploy.interval"], cells["deploy.lease_duration"]) == ("3s", "1m30s", "1m")
    assert (cells["deploy.rollout_timeout"], cells["preflight.max_age"], cells["preflight.timeout"]) == \
        ("1.5s", "90d", "0.4s")
    assert cells["kubernetes.request_timeout"] == "1h30m"
    assert cells["mistral.timeout"] == "45s"  # once refused: "Input should be a valid number"
    # alerts' durations are a type of their own (WholeSeconds), once shown as 300, 600, 120
    assert cells["alerts.prometheus.rate_window"] == "5m"
    assert "for: 10m" in cells["alerts.rules"] and "period: 2m" in cells["alerts.rules"], cells["alerts.rules"]
    as_json = json.loads(cli("--config", str(path), "config", "show", "-o", "json").stdout)
    assert as_json["settings"]["deploy"]["pause"] == 3.0 and as_json["settings"]["preflight"]["max_age"] == 7776000.0


def test_the_yaml_shown_loads_back_as_the_same_settings(cli, tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text(CONFIG)
    shown = yaml.safe_load(cli("--config", str(path), "config", "show", "-o", "yaml").stdout)["settings"]
    assert shown["deploy"]["pause"] == "3s" and shown["preflight"]["max_age"] == "90d"
    assert shown["alerts"]["rules"]["high-latency"]["for"] == "10m"
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump(shown))
    original = load_settings(str(path), None)[0]
    assert load_settings(str(again), None)[0].model_dump() == original.model_dump()
