"""`magent usage report` end to end: the real CLI entry point against an embedded Postgres."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fixtures.usage import WINDOW, load_sample_usage, sample_pricing

from magent.cli.usage_view import BAR_WIDTH
from magent.core.cost import COST_MODEL


@pytest.fixture
def sample_url(store, pg_url):
    with store.connection() as conn:
        load_sample_usage(conn)
    return pg_url


@pytest.fixture
def report(cli, sample_url, tmp_path):
    prices = str(sample_pricing(tmp_path))

    def run(*args: str):
        return cli("usage", "report", "--since", WINDOW[0], "--until", WINDOW[1], "--pricing", prices, *args,
                   env={"MAGENT_DATABASE_URL": sample_url})

    return run


def test_json_report_by_model(report):
    result = report("--by", "model", "-o", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    rows = {row["model"]: row for row in document["rows"]}
    assert rows["mistral-large-latest"]["cost_usd"] == 3.15
    assert rows["mistral-large-latest"]["priced_as"] == "mistral-large-2512"
    assert rows["mistral-large-latest"]["input_cost_usd"] == 2.25
    assert rows["codestral-2508"]["cost_usd"] == 0.24
    assert rows["my-finetune"]["cost_usd"] is None and rows["my-finetune"]["pricing"] == "unpriced"
    assert rows["my-finetune"]["total_tokens"] == 15_000
    totals = document["totals"]
    assert (totals["prompt_tokens"], totals["completion_tokens"], totals["cost_usd"]) == (5_010_000, 705_000, 3.39)
    assert (totals["pricing"], totals["outputs"], totals["estimated_outputs"]) == ("partial", 5, 1)
    assert document["cost_model"] == COST_MODEL
    assert document["window"]["since"] == "2026-11-01T00:00:00Z"
    assert document["unpriced_models"] == ["my-finetune"]
    assert {p["model"]: (p["source"], p["as_of"]) for p in document["prices"]}["codestral-2508"] == (
        "https://mistral.ai/news/codestral-25-08", "2026-11-23")
    assert [day["day"] for day in document["daily"]] == ["2026-11-01", "2026-11-02"]


def test_by_is_repeatable_and_comma_separated(report):
    repeated = json.loads(report("--by", "day", "--by", "agent", "-o", "json").stdout)
    combined = json.loads(report("--by", "day,agent", "-o", "json").stdout)
    assert repeated["group_by"] == combined["group_by"] == ["day", "agent"]
    assert repeated["rows"] == combined["rows"]
    support = next(row for row in repeated["rows"] if row["agent_id"] == "ag_support")
    assert (support["day"], support["agent_name"], support["cost_usd"]) == ("2026-11-01", "Support bot", 3.15)


def test_csv_report(report):
    result = report("--by", "agent,model", "-o", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0])[:4] == ["agent_id", "agent_name", "model", "priced_as"]
    by_agent = {row["agent_id"]: row for row in rows}
    assert by_agent["ag_support"]["cost_usd"] == "3.15"
    assert by_agent["ag_code"]["cost_usd"] == "0.24"
    assert by_agent[""]["cost_usd"] == "" and by_agent[""]["pricing"] == "unpriced"
    assert by_agent[""]["unpriced_models"] == "my-finetune"


def test_yaml_report(report):
    import yaml

    document = yaml.safe_load(report("-o", "yaml").stdout)
    assert document["totals"]["cost_usd"] == 3.39


def test_table_report_shows_header_totals_chart_and_prices(report):
    result = report("--by", "day", "--by", "model")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert COST_MODEL in " ".join(out.split())  # the header states the cost model (wrapping aside)
    assert "Total" in out and "5,010,000" in out and "705,000" in out
    assert "≥ $3.3900 (partial)" in out and "unpriced" in out
    assert "Daily cost (USD)" in out
    # 2026-11-01 is the most expensive day: its bar is full width; 2026-11-02 costs 0.24 / 3.15 of it.
    day1 = next(line for line in out.splitlines() if line.startswith("2026-11-01") and "$3.1500" in line)
    assert "█" * BAR_WIDTH in day1 or "#" * BAR_WIDTH in day1
    day2 = next(line for line in out.splitlines() if line.startswith("2026-11-02") and "(partial)" in line)
    assert "+ unpriced tokens" in day2
    assert "https://mistral.ai/news/codestral-25-08" in out and "2026-11-23" in out
    assert "Token counts of the 5 model outputs: 4 counted with Mistral's tokenizer, 1 estimated" in out
    assert "Unpriced (tokens shown, cost not counted): my-finetune" in out


def test_shipped_prices_are_used_without_pricing_flag(cli, sample_url):
    result = cli("usage", "report", "--since", WINDOW[0], "--until", WINDOW[1], "-o", "json",
                 env={"MAGENT_DATABASE_URL": sample_url})
    document = json.loads(result.stdout)
    assert document["price_tables"] == ["shipped price table"]
    large = next(row for row in document["rows"] if row["model"] == "mistral-large-latest")
    assert large["pricing"] == "priced" and large["cost_usd"] > 0


def test_empty_store_is_a_clear_message_and_exit_0(cli, store, pg_url):
    env = {"MAGENT_DATABASE_URL": pg_url}
    result = cli("usage", "report", env=env)
    assert result.exit_code == 0
    assert "magent conversations export" in result.stdout
    result = cli("usage", "report", "-o", "json", env=env)
    document = json.loads(result.stdout)
    assert document["rows"] == [] and document["totals"]["outputs"] == 0
    assert "magent conversations export" in document["message"]
    assert "magent conversations export" in result.stderr
    result = cli("usage", "report", "-o", "csv", env=env)
    assert result.exit_code == 0 and result.stdout.strip().startswith("model,priced_as,outputs")
    assert len(result.stdout.strip().splitlines()) == 1


UNREACHABLE = {"MAGENT_DATABASE_URL": "postgresql://magent:s3cretpassw0rd@127.0.0.1:1/none"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "model,colour"], "unknown --by value 'colour'"),
        (["--since", "2999-01-01"], "--since 2999-01-01T00:00:00Z is in the future"),
        (["--since", "last tuesday"], "--since: invalid time 'last tuesday'"),
        (["--until", "never"], "--until: invalid time 'never'"),
        (["--since", "2026-11-02", "--until", "2026-11-01"], "--until 2026-11-01T00:00:00Z is not after --since"),
        (["--pricing", "/nonexistent/prices.yaml"], "cannot read the price file /nonexistent/prices.yaml"),
        (["-o", "xml"], "Invalid value for '--output'"),
    ],
)
def test_bad_input_exits_2_before_touching_the_store(cli, args, message):
    result = cli("usage", "report", *args, env=UNREACHABLE)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_pricing_file_names_the_key(cli, tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  m:\n    input: 1\n    output: lots\n    source: s\n    as_of: 2026-01-01\n")
    result = cli("usage", "report", "--pricing", str(path), env=UNREACHABLE)
    assert result.exit_code == 2
    assert f"{path}:4: models.m.output: Input should be a valid decimal" in result.stderr


def test_unreachable_store_exits_3_with_the_password_masked(cli):
    result = cli("usage", "report", env=UNREACHABLE)
    assert result.exit_code == 3, result.output
    assert "127.0.0.1" in result.stderr and "s3cretpassw0rd" not in result.output


def test_global_output_option_and_masked_password_in_every_format(cli, sample_url, tmp_path):
    # Trust authentication ignores the password, so the report runs; the password must never be printed.
    secret_url = sample_url.replace("postgres:@", "postgres:s3cretpassw0rd@", 1)
    assert secret_url != sample_url
    env = {"MAGENT_DATABASE_URL": secret_url}
    window = ("--since", WINDOW[0], "--until", WINDOW[1])
    result = cli("-o", "json", "usage", "report", *window, env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["store"].startswith("postgresql://postgres:***@")
    for fmt in ("table", "yaml", "csv"):
        result = cli("usage", "report", *window, "-o", fmt, env=env)
        assert result.exit_code == 0 and "s3cretpassw0rd" not in result.output


def test_plain_output_draws_ascii_bars(cli, sample_url, tmp_path):
    result = cli("--no-color", "usage", "report", "--since", WINDOW[0], "--until", WINDOW[1],
                 "--pricing", str(sample_pricing(tmp_path)), env={"MAGENT_DATABASE_URL": sample_url})
    assert "#" * BAR_WIDTH in result.stdout and "█" not in result.stdout and "\x1b[" not in result.stdout


def test_piped_table_never_cuts_a_value(report, monkeypatch):
    """Off a terminal (cron, CI logs, `| cat`) the table is as wide as its data, whatever COLUMNS says."""
    monkeypatch.setenv("COLUMNS", "80")
    result = report("--by", "day", "--by", "model")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("Cost (USD)" in line for line in lines)
    assert "…" not in result.stdout
    for day, model, cost in (("2026-11-01", "mistral-large-latest", "$3.1500"),
                             ("2026-11-02", "codestral-2508", "$0.2400"),
                             ("2026-11-02", "my-finetune", "unpriced")):
        assert any(day in line and model in line and cost in line for line in lines), (day, model, cost)
