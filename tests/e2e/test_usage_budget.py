"""`usage report --budget USD` (exit 1 over budget, for cron and CI) and `--database-url`."""

from __future__ import annotations

import pytest
from fixtures.usage import WINDOW, load_sample_usage, sample_pricing

UNREACHABLE = {"MAGENT_DATABASE_URL": "postgresql://magent:s3cretpassw0rd@127.0.0.1:1/none"}


@pytest.fixture
def sample_url(store, pg_url):
    with store.connection() as conn:
        load_sample_usage(conn)
    return pg_url


def _report(cli, url, tmp_path, *args, env=None):
    prices = str(sample_pricing(tmp_path))
    return cli("usage", "report", "--since", WINDOW[0], "--until", WINDOW[1], "--pricing", prices, *args,
               env=env if env is not None else {"MAGENT_DATABASE_URL": url})


def test_spend_over_budget_exits_1_and_says_by_how_much(cli, sample_url, tmp_path):
    # the sample window's priced spend is $3.39 (test_usage_cli.test_json_report_by_model)
    result = _report(cli, sample_url, tmp_path, "--budget", "3", "-o", "json")
    assert result.exit_code == 1, result.output
    assert '"totals"' in result.stdout  # the report is still printed, whole
    assert "spend $3.39 exceeds the budget of $3.00 by $0.39" in result.stderr
    assert "my-finetune" in result.stderr  # unpriced models are named: the spend may be higher


def test_spend_within_budget_exits_0(cli, sample_url, tmp_path):
    result = _report(cli, sample_url, tmp_path, "--budget", "3.39")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "ten", "1e400000"])
def test_bad_budget_exits_2_before_touching_the_store(cli, value):
    result = cli("usage", "report", "--budget", value, env=UNREACHABLE)
    assert result.exit_code == 2, result.output
    assert "--budget" in result.stderr and "Traceback" not in result.stderr


def test_database_url_flag_is_accepted_and_masked(cli, sample_url, tmp_path):
    result = _report(cli, sample_url, tmp_path, "--database-url", sample_url, "-o", "json", env={})
    assert result.exit_code == 0, result.output
    bad = UNREACHABLE["MAGENT_DATABASE_URL"]
    result = cli("usage", "report", "--database-url", bad, env={})
    assert result.exit_code == 3 and "s3cretpassw0rd" not in result.output
