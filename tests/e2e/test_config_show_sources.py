"""`magent config show`: where each value came from, and lists/maps as YAML in every format."""

from __future__ import annotations

import json
import textwrap

import yaml

CONFIG = textwrap.dedent(
    """\
    default_profile: staging
    mistral:
      models: [mistral-small-2506, mistral-large-latest]
      timeout: 10
    deploy:
      analysis:
        prometheus: {url: "http://u:prom-s3cret@prom:9090"}
    profiles:
      staging:
        kubernetes: {namespace: shop-staging}
        deploy: {steps: [5, 25], pause: 10m}
    """
)


def _write(tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text(CONFIG)
    return path


def test_sources_name_flag_env_profile_file_and_default(cli, tmp_path):
    path = _write(tmp_path)
    env = {"MAGENT_MISTRAL_URL": "http://user:url-s3cret@sim:1", "MAGENT_DATABASE_URL": "postgres://a:db-s3cret@db/x"}
    result = cli("--config", str(path), "config", "show", "-o", "json", env=env)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    sources = data["sources"]
    assert sources["config_file"] == {"source": "flag", "where": "--config"}
    assert sources["profile"] == {"source": "file", "where": f"{path}:1"}
    assert sources["mistral.base_url"] == {"source": "env", "where": "MAGENT_MISTRAL_URL"}
    assert sources["mistral.models"] == {"source": "file", "where": f"{path}:3"}
    assert sources["kubernetes.namespace"] == {"source": "profile", "where": f"{path}:10"}
    assert sources["deploy.pause"] == {"source": "profile", "where": f"{path}:11"}
    assert sources["deploy.analysis"] == {"source": "file", "where": f"{path}:6"}
    assert sources["deploy.interval"] == {"source": "default", "where": None}
    assert sources["deploy.ecs.cluster"] == {"source": "default", "where": None}
    assert "url-s3cret" not in result.stdout and "db-s3cret" not in result.stdout and "prom-s3cret" not in result.stdout

    flagged = json.loads(cli("--config", str(path), "--profile", "staging", "config", "show", "-o", "json").stdout)
    assert flagged["sources"]["profile"] == {"source": "flag", "where": "--profile"}
    by_env = json.loads(cli("config", "show", "-o", "json",
                            env={"MAGENT_CONFIG": str(path), "MAGENT_PROFILE": "staging"}).stdout)
    assert by_env["sources"]["config_file"] == {"source": "env", "where": "MAGENT_CONFIG"}
    assert by_env["sources"]["profile"] == {"source": "env", "where": "MAGENT_PROFILE"}


def test_table_prints_lists_and_maps_as_yaml_with_their_source(cli, tmp_path):
    path = _write(tmp_path)
    result = cli("--config", str(path), "config", "show", env={"MAGENT_DATABASE_URL": "postgres://a:db-s3cret@db/x"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "{'" not in out and "None" not in out and "True" not in out, out  # no Python reprs
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if line.count("│") == 4]
    lines = {row[0]: " ".join(row[1:]) for row in cells}
    assert "[mistral-small-2506, mistral-large-latest]" in lines["mistral.models"]
    assert f"file {path}:3" in lines["mistral.models"]
    assert "[5, 25]" in lines["deploy.steps"] and f"profile staging ({path}:11)" in lines["deploy.steps"]
    assert "env MAGENT_DATABASE_URL" in lines["store.database_url"] and "db-s3cret" not in out
    assert "prometheus: {url: 'http://u:***@prom:9090'}" in lines["deploy.analysis"] or \
        "url: http://u:***@prom:9090" in out
    assert lines["deploy.ecs.latency_stat"].split()[0] == "p95"  # nested settings flattened, not a dict repr
    assert lines["deploy.ecs.alb_metrics"].split()[0] == "true"
    assert "[env:MISTRAL_API_KEY]" in lines["mistral.key_from"] or "['env:MISTRAL_API_KEY']" in lines["mistral.key_from"]
    assert "default" in lines["deploy.interval"]


def test_yaml_output_has_the_same_sources(cli, tmp_path):
    path = _write(tmp_path)
    data = yaml.safe_load(cli("--config", str(path), "config", "show", "-o", "yaml").stdout)
    assert data["settings"]["deploy"]["steps"] == [5, 25]
    assert data["sources"]["deploy.steps"] == {"source": "profile", "where": f"{path}:11"}
