"""Conventions every command shares: global options, config errors as exit 2, no tracebacks, masking."""

import json

import yaml


def test_help_lists_exit_codes(cli):
    result = cli("--help")
    assert result.exit_code == 0
    assert "Exit codes" in result.stdout and "130 interrupted" in result.stdout


def test_invalid_config_is_exit_2_with_key_and_line(cli, tmp_path):
    bad = tmp_path / "magent.yaml"
    bad.write_text("mistral:\n  timeout: 5\n  colour: blue\n")
    result = cli("--config", str(bad), "config", "show")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"Error: {bad}:3: mistral.colour: unknown key"
    assert "Traceback" not in result.output


def test_debug_shows_traceback_on_error(cli, tmp_path):
    bad = tmp_path / "magent.yaml"
    bad.write_text("mistral:\n  colour: blue\n")
    result = cli("--debug", "--config", str(bad), "config", "show")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_config_show_masks_secrets_in_every_format(cli, tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text("profiles:\n  prod:\n    kubernetes: {namespace: shop}\n")
    env = {
        "MAGENT_DATABASE_URL": "postgresql://app:hunter2secret@db.internal:5432/magent",
        "MAGENT_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/verysecretpath",
    }
    outputs = [cli("--config", str(path), "--profile", "prod", "config", "show", "-o", fmt, env=env) for fmt in ("table", "json", "yaml")]
    for result in outputs:
        assert result.exit_code == 0, result.stderr
        assert "hunter2secret" not in result.output and "verysecretpath" not in result.output
    data = json.loads(outputs[1].stdout)
    assert data["profile"] == "prod"
    assert data["settings"]["kubernetes"]["namespace"] == "shop"
    assert data["settings"]["store"]["database_url"] == "postgresql://app:***@db.internal:5432/magent"
    shown = yaml.safe_load(outputs[2].stdout)  # durations differ by design: `5m` there, 300.0 in JSON
    assert shown["profile"] == data["profile"]
    assert shown["settings"]["store"] == data["settings"]["store"]
    assert shown["settings"]["kubernetes"] == data["settings"]["kubernetes"]


def test_global_output_option_applies_to_commands(cli):
    result = cli("-o", "json", "config", "show")
    assert json.loads(result.stdout)["profile"] == "default"


def test_usage_errors_are_one_error_line_and_a_hint(cli):
    result = cli("rollback")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["Error: Missing option '--deployment' / '-d'.",
                                          "Hint: see 'magent rollback --help'"]
    result = cli("deploy")  # --deployment, or --target ecs with --cluster and --service
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: missing option '--deployment' / '-d'",
        "Hint: magent deploy IMAGE --deployment NAME (or --target ecs --cluster C --service S)"]
