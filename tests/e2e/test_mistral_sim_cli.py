"""`magent sandbox mistral`: the URL on the first line of stdout, a working server, a clean stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fixtures.mistral import SIM_API_KEY, SIM_UNPAID_KEY


@contextmanager
def sandbox(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "magent", "sandbox", "mistral", "--port", "0", "--conversations", "3", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
    )
    try:
        url = process.stdout.readline().strip()
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_prints_the_url_first_serves_the_keys_and_stops_on_sigterm():
    with sandbox("--api-key", SIM_API_KEY, "--unpaid-key", SIM_UNPAID_KEY) as (process, url):
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        models = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {SIM_API_KEY}"}, timeout=10)
        assert models.status_code == 200 and models.json()["data"]
        chat = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}]}
        unpaid_auth = {"Authorization": f"Bearer {SIM_UNPAID_KEY}"}
        unpaid = httpx.post(url + "/v1/chat/completions", json=chat, headers=unpaid_auth, timeout=10)
        assert unpaid.status_code == 401
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0 and out == ""
    assert f"MAGENT_MISTRAL_URL={url}" in err and "Traceback" not in err
    assert SIM_API_KEY not in err and SIM_API_KEY[-4:] in err  # fingerprints only


def test_ctrl_c_exits_130_without_traceback():
    with sandbox("--api-key", SIM_API_KEY) as (process, url):
        assert url.startswith("http://")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 130 and "Traceback" not in err


def test_without_keys_it_accepts_mistral_api_key_from_the_environment():
    with sandbox(env={"MISTRAL_API_KEY": SIM_API_KEY}) as (process, url):
        response = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {SIM_API_KEY}"}, timeout=10)
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert SIM_API_KEY not in err


def test_without_any_key_it_generates_one_and_shows_it_once():
    with sandbox() as (process, url):
        assert url.startswith("http://")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    shown = re.findall(r"Sandbox API key .*: ([A-Za-z0-9]{32})$", err, re.MULTILINE)
    assert len(shown) == 1 and err.count(shown[0]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--error-rate", "2"], "--error-rate must be between 0 and 1"),
     (["--error-rate", "0.6", "--reset-rate", "0.6"], "must not exceed 1"),
     (["--latency", "fast"], "--latency: invalid duration"),
     (["--api-key", ""], "non-empty"),
     (["--agents", "-1"], "Invalid value for '--agents'")],
)
def test_bad_options_exit_2_with_one_clear_line(cli, args, message):
    result = cli("sandbox", "mistral", *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
