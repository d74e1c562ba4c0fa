"""Credentials inside URLs (userinfo, `?token=`, conninfo passwords) never reach any output or log: planted in
every URL-valued setting, from the file and from the environment, then grepped for in `config show` (every
format, with and without --debug), `db status` and a `--debug deploy` whose analysis calls those URLs."""

from __future__ import annotations

import pytest
import yaml
from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

from magent.sandbox.agentapp import AgentApp, serve_agent_app

# Planted to prove masking; none may appear in any output.  magent:allow
MISTRAL_PW = "PlantedMistralPw-1a2b"
AWS_PW = "PlantedAwsPw-3c4d"
PROM_PW = "PlantedPromPw-5e6f"
WEB_TOKEN = "PlantedWebToken-7a8b"
HEALTH_KEY = "PlantedHealthKey-9c0d"
DB_PW = "PlantedDbPw-1e2f"
PLANTED = (MISTRAL_PW, AWS_PW, PROM_PW, WEB_TOKEN, HEALTH_KEY, DB_PW)


def _assert_clean(text: str) -> None:
    leaked = [secret for secret in PLANTED if secret in text]
    assert not leaked, f"leaked {leaked} in:\n{text}"


def _file_config(tmp_path) -> str:
    path = tmp_path / "magent.yaml"
    path.write_text(yaml.safe_dump({
        "mistral": {"base_url": f"https://mu:{MISTRAL_PW}@mistral.example"},
        "aws": {"endpoint_url": f"http://au:{AWS_PW}@127.0.0.1:5000"},
        "store": {"database_url": f"host=db.internal user=app password={DB_PW} dbname=magent"},
        "preflight": {"health_url": f"https://app.example/health?api_key={HEALTH_KEY}"},
        "deploy": {"analysis": {
            "prometheus": {"url": f"http://pu:{PROM_PW}@prometheus.example:9090"},
            "web": {"url": f"http://app.example/health?a=1&token={WEB_TOKEN}"},
        }},
    }))
    return str(path)


ENV = {
    "MAGENT_MISTRAL_URL": f"https://mu:{MISTRAL_PW}@mistral.example",
    "AWS_ENDPOINT_URL": f"http://au:{AWS_PW}@127.0.0.1:5000",
    "MAGENT_DATABASE_URL": f"app:{DB_PW}@db.internal:5432/magent",  # no scheme: a common slip
}


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("fmt", ["table", "json", "yaml"])
def test_config_show_masks_urls_from_the_file(cli, tmp_path, fmt, debug):
    result = cli(*(["--debug"] if debug else []), "--config", _file_config(tmp_path), "config", "show", "-o", fmt)
    assert result.exit_code == 0, result.stderr
    _assert_clean(result.output)
    assert "mu:***@mistral.example" in result.stdout and "token=***" in result.stdout
    assert "password=***" in result.stdout and "api_key=***" in result.stdout


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("fmt", ["table", "json", "yaml"])
def test_config_show_masks_urls_from_the_environment(cli, fmt, debug):
    result = cli(*(["--debug"] if debug else []), "config", "show", "-o", fmt, env=ENV)
    assert result.exit_code == 0, result.stderr
    _assert_clean(result.output)
    assert "app:***@db.internal:5432/magent" in result.stdout and "au:***@127.0.0.1:5000" in result.stdout


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_database_url_without_a_scheme_is_refused_without_its_password(cli, debug):
    result = cli(*(["--debug"] if debug else []), "db", "status", env={"MAGENT_DATABASE_URL": ENV["MAGENT_DATABASE_URL"]})
    assert result.exit_code == 2, result.output
    _assert_clean(result.output)
    assert "Error: MAGENT_DATABASE_URL is not a valid libpq URL: app:***@db.internal:5432/magent" in result.stderr
    assert "Hint: use postgresql://USER:PASSWORD@HOST:PORT/DB" in result.stderr


def test_debug_deploy_never_logs_the_analysis_credentials(cli, web, prometheus):  # noqa: F811
    app = AgentApp(sim=web.sim, namespace=web.namespace, deployment="web", seed=11)
    with serve_agent_app(app) as url:
        selector = prometheus.scrape(f"{url}/metrics")
        try:
            prom = prometheus.url.replace("://", f"://pu:{PROM_PW}@", 1)
            with open("magent.yaml", "w") as handle:  # the test's cwd is its own temporary home
                yaml.safe_dump({"deploy": {"analysis": {
                    "prometheus": {"url": prom, "selector": selector, "min_window": "3s"},
                    "web": {"url": f"{url}/health?token={WEB_TOKEN}"},
                }}}, handle)
            result = cli("--debug", "deploy", "app:v2", "-d", "web", "--steps", "50", "--pause", "1s",
                         "--interval", "1s", "--max-inconclusive", "2", "--yes", "-o", "json")
        finally:
            prometheus.unscrape(selector)
    assert result.exit_code in (0, 1), result.stderr
    assert "HTTP Request: GET" in result.stderr  # the debug log did show the requests
    _assert_clean(result.output)
    assert "token=***" in result.stderr and "/health" in result.stdout


@pytest.mark.parametrize("url", [
    "postgresql://app:S3cretPgPass@127.0.0.1:abc/magent", "postgresql://app:S3cretPgPass@127.0.0.1:99999/magent",
    "host=a,b port=5432,x user=app password=S3cretPgPass dbname=magent"])
@pytest.mark.parametrize("command", [["db", "status"], ["db", "migrate"], ["usage", "report"]])
def test_a_port_libpq_cannot_use_is_a_config_error_not_an_unreachable_server(cli, url, command):
    result = cli(*command, env={"MAGENT_DATABASE_URL": url})
    assert result.exit_code == 2, result.output
    assert "is not a number from 1 to 65535" in result.stderr and "S3cretPgPass" not in result.output
    assert "Traceback" not in result.output
