"""`magent status` and `magent history` against the simulator."""

from __future__ import annotations

import json
import re

from fixtures.deploy import cluster, plant_canary_in_progress, web  # noqa: F401 - fixtures


def test_status_shows_the_canary_its_step_and_the_lock(cli, web):  # noqa: F811
    plant_canary_in_progress(web)
    result = cli("status", "-d", "web", "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["images"] == ["app:v1"] and data["replicas"]["desired"] == 4
    assert data["canary"]["name"] == "web-canary" and data["canary"]["images"] == ["app:v2"]
    assert data["deploy"]["phase"] == "paused-for-analysis" and data["deploy"]["in_progress"] is True
    assert (data["deploy"]["step"], data["deploy"]["weight"]) == (2, 50)
    assert data["lock"]["holder"] == "ci@runner-7 4242" and data["lock"]["expired"] is False
    table = cli("status", "-d", "web")
    assert "deploy in progress" in table.stdout and "ci@runner-7 4242" in table.stdout
    assert "app:v1 → app:v2" in table.stdout


def test_status_table_shows_times_in_whole_seconds_and_json_keeps_them_exact(cli, web):  # noqa: F811
    plant_canary_in_progress(web)
    data = json.loads(cli("status", "-d", "web", "-o", "json").stdout)
    table = cli("status", "-d", "web").stdout
    moments = [data["deploy"]["started_at"], data["deploy"]["updated_at"], data["lock"]["renewed_at"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", moment) for moment in moments), moments
    for moment in moments:
        assert re.sub(r"\.\d+Z$", "Z", moment) in table, table
    assert not re.search(r":\d\d\.\d", table), table  # microseconds only fold the table


def test_status_of_a_quiet_deployment(cli, web):  # noqa: F811
    data = json.loads(cli("status", "-d", "web", "-o", "json").stdout)
    assert data["canary"] is None and data["deploy"] is None and data["lock"] is None
    assert data["rollout"] == 'deployment "web" successfully rolled out'


def test_history_lists_revisions_like_kubectl(cli, web):  # noqa: F811
    web.set_image("app:v2")
    data = json.loads(cli("history", "-d", "web", "-o", "json").stdout)
    assert [(r["revision"], r["images"], r["current"]) for r in data] == [(1, ["app:v1"], False), (2, ["app:v2"], True)]
    assert all(r["created"].endswith("Z") for r in data)
    table = cli("history", "-d", "web").stdout
    assert "revision" in table and "app:v2" in table and "<none>" in table


def test_unknown_deployment_is_exit_2(cli, web):  # noqa: F811
    for command in ("status", "history"):
        result = cli(command, "-d", "nope")
        assert result.exit_code == 2 and "deployment nope not found" in result.stderr


def test_piped_history_keeps_long_image_names_on_one_line(cli, web):  # noqa: F811
    """Off a terminal, a table never folds a cell: `history | grep IMAGE` must find the whole name."""
    image = "registry.example.com/platform-team/customer-support-agent:2026.11.28-0123456789abcdef0123456789"
    web.set_image(image)
    out = cli("history", "-d", "web", env={"COLUMNS": "80"}).stdout
    assert any(image in line and "app:v1" not in line for line in out.splitlines()), out
