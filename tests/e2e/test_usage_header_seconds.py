"""`usage report`'s header shows the window's instants to the second (a relative --since is now minus it, which
carries microseconds); -o json keeps them whole."""

from __future__ import annotations

import json
import re

import pytest
from fixtures.usage import load_sample_usage


@pytest.fixture
def sample_url(store, pg_url):
    with store.connection() as conn:
        load_sample_usage(conn)
    return pg_url


def test_the_header_shows_whole_seconds_and_json_the_full_instant(cli, sample_url):
    env = {"MAGENT_DATABASE_URL": sample_url}
    result = cli("usage", "report", "--since", "3650d", env=env)
    assert result.exit_code == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if line.startswith("Usage report"))
    assert re.fullmatch(r"Usage report \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ → now", header.strip()), header
    document = json.loads(cli("usage", "report", "--since", "3650d", "-o", "json", env=env).stdout)
    assert re.fullmatch(r".*T\d\d:\d\d:\d\d\.\d+Z", document["window"]["since"])
