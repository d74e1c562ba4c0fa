"""`magent key verify` end to end: the real CLI, the Mistral simulator and a moto server, over real HTTP."""

from __future__ import annotations

import json
import logging
import re
import socket

import pytest
import yaml
from fixtures.mistral import SIM_API_KEY, SIM_LIMITED_KEY, SIM_UNPAID_KEY

from magent.sandbox.mistral import FaultConfig, KeySpec

BAD_KEY = "NoSuchKey0aB1cD2eF3gH4iJ5kL6mN7o"


@pytest.fixture(autouse=True)
def restore_root_logging():
    """`--debug` points the root logger at the captured stderr at DEBUG level; once capture closes, the
    simulator threads' debug logs would hit a closed file, and the traceback logging prints for that runs
    ast.parse in a background thread, which CPython 3.11.7 can race with pytest's own ast.parse."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def verify(cli, mistral_sim):
    """Run `magent key verify ARGS` against the shared simulator; `-o json` runs return the parsed report."""

    def run(*args: str, url: str | None = None, env: dict[str, str] | None = None):
        env = {"MAGENT_MISTRAL_URL": url or mistral_sim.url, **(env or {})}
        return cli("key", "verify", *args, env=env)

    return run


def as_json(result) -> dict:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_valid_key_table(verify):
    result = verify(env={"MISTRAL_API_KEY": SIM_API_KEY})
    assert result.exit_code == 0, result.output
    for words in ("env:MISTRAL_API_KEY", "…dF5g (sha256:", "valid", "listed in", "activated (1 token on",
                  "left of", "1 of 1 key valid"):
        assert words in result.stdout
    assert SIM_API_KEY not in result.output
    footer = next(line for line in result.stdout.splitlines() if "1 of 1 key valid" in line)
    assert re.search(r"· exit 0 · \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", footer), footer  # whole seconds, as tables


def test_valid_key_json_with_models(verify):
    result = verify("--key-from", "env:K", "-m", "mistral-small-2506", "-m", "mistral-embed", "-o", "json",
                    env={"K": SIM_API_KEY})
    data = as_json(result)
    assert result.exit_code == 0 and data["exit_code"] == 0 and data["ok"] is True
    key = data["keys"][0]
    assert key["verdict"] == "valid" and key["payment"] == "activated"
    assert key["completion_model"] == "mistral-small-2506"  # the embedding model is checked, never chatted with
    assert [(c["model"], c["status"]) for c in key["model_checks"]] == [("mistral-small-2506", "ok"),
                                                                      ("mistral-embed", "ok")]
    assert key["models_count"] > 10 and key["models_latency_ms"] > 0
    assert key["rate_limits"]["limit_req_minute"] == 1_000_000


def test_invalid_key(verify):
    result = verify("--key-from", "env:K", env={"K": BAD_KEY})
    assert result.exit_code == 1
    assert "INVALID KEY (401)" in result.stdout and "Unauthorized" in result.stdout
    assert "Hint: create or copy a valid key" in result.stdout


def test_unpaid_key_and_no_spend(verify):
    unpaid = as_json(verify("--key-from", "env:K", "-o", "json", env={"K": SIM_UNPAID_KEY}))
    assert unpaid["exit_code"] == 1
    assert (unpaid["keys"][0]["verdict"], unpaid["keys"][0]["payment"]) == ("payment_not_activated", "not_activated")
    assert "Payment not activated" in unpaid["keys"][0]["explanation"]
    no_spend = verify("--key-from", "env:K", "--no-spend", "-o", "json", env={"K": SIM_UNPAID_KEY})
    assert no_spend.exit_code == 0
    assert as_json(no_spend)["keys"][0]["payment"] == "not_checked"


def test_forbidden_and_missing_models(verify):
    forbidden = verify("--key-from", "env:K", "-m", "mistral-small-latest", "-m", "mistral-large-2411",
                       "-o", "yaml", env={"K": SIM_LIMITED_KEY})
    key = yaml.safe_load(forbidden.stdout)["keys"][0]
    assert forbidden.exit_code == 1 and key["verdict"] == "forbidden_model" and key["http_status"] == 403
    assert {c["model"]: c["status"] for c in key["model_checks"]} == {
        "mistral-small-latest": "ok", "mistral-large-2411": "forbidden"}
    missing = as_json(verify("--key-from", "env:K", "-m", "mistral-gigantic-9999", "-o", "json",
                             env={"K": SIM_API_KEY}))
    assert missing["exit_code"] == 1 and missing["keys"][0]["verdict"] == "model_not_found"
    assert missing["keys"][0]["model_checks"][0]["status"] == "not_found"


def test_configured_models_and_aliases(verify, tmp_path):
    config = tmp_path / "magent.yaml"
    config.write_text(yaml.safe_dump({"mistral": {
        "models": ["mistral-small-latest", "mistral-large-latest"],
        "intentional_aliases": ["mistral-large-latest"],
        "key_from": ["env:K"],
    }}))
    data = as_json(verify("-m", "mistral-large-2407", "-o", "json", env={"K": SIM_API_KEY, "MAGENT_CONFIG": str(config)}))
    key = data["keys"][0]
    assert data["exit_code"] == 0 and key["source"] == "env:K"
    assert [c["model"] for c in key["model_checks"]] == ["mistral-small-latest", "mistral-large-latest",
                                                         "mistral-large-2407"]
    assert key["model_checks"][0]["resolves_to"] == "mistral-small-2506"
    warnings = "\n".join(key["warnings"])
    assert "mistral-small-latest is a '-latest' alias (now mistral-small-2506)" in warnings
    assert "mistral-large-latest" not in warnings  # intentional
    assert "mistral-large-2407 is deprecated (retires 2025-11-30); replacement: mistral-large-2411" in warnings


def test_rate_limited_with_retry_after(verify, make_mistral_sim):
    sim = make_mistral_sim(agents=0, conversations=0, faults=FaultConfig(rate_limit_rate=1.0, retry_after_s=7))
    result = verify("--key-from", "env:K", url=sim.url, env={"K": SIM_API_KEY})
    assert result.exit_code == 3
    assert "RATE LIMITED (429)" in result.stdout and "retry after 7 s" in result.stdout
    data = as_json(verify("--key-from", "env:K", "-o", "json", url=sim.url, env={"K": SIM_API_KEY}))
    assert (data["keys"][0]["verdict"], data["keys"][0]["retry_after_s"]) == ("rate_limited", 7)


def test_rate_limited_by_the_keys_own_limit(verify, make_mistral_sim):
    key = "TinyRpmKey4aB8cD2eF6gH0iJ3kL7mN1"  # magent:allow (a throwaway key of the simulator)
    sim = make_mistral_sim(keys=[KeySpec(key, rpm=1)], agents=0, conversations=0)
    data = as_json(verify("--key-from", "env:K", "-o", "json", url=sim.url, env={"K": key}))
    report = data["keys"][0]
    assert data["exit_code"] == 3 and report["verdict"] == "rate_limited"
    assert report["models_count"] > 0  # the listing got through, the completion was refused
    assert report["retry_after_s"] is not None and report["rate_limits"]["remaining_req_minute"] == 0


def test_mistral_degraded(verify, make_mistral_sim):
    sim = make_mistral_sim(agents=0, conversations=0, faults=FaultConfig(error_rate=1.0, error_statuses=(503,)))
    result = verify("--key-from", "env:K", url=sim.url, env={"K": SIM_API_KEY})
    assert result.exit_code == 3
    assert "MISTRAL DEGRADED (503)" in result.stdout and "status.mistral.ai" in result.stdout


@pytest.mark.parametrize(
    ("url", "extra", "words"),
    [
        (None, (), "Connection refused"),
        ("http://magent-test.invalid", (), "DNS lookup failed"),
        ("slow", ("--timeout", "0.3"), "timed out"),
    ],
)
def test_unreachable(verify, make_mistral_sim, url, extra, words):
    if url is None:
        url = closed_port_url()
    elif url == "slow":
        url = make_mistral_sim(agents=0, conversations=0, faults=FaultConfig(latency_ms=1500)).url
    data = as_json(verify("--key-from", "env:K", "-o", "json", *extra, url=url, env={"K": SIM_API_KEY}))
    assert data["exit_code"] == 3 and data["keys"][0]["verdict"] == "unreachable"
    assert words in data["keys"][0]["explanation"]


def test_several_keys_side_by_side(verify, tmp_path):
    key_file = tmp_path / "key.txt"
    key_file.write_text(SIM_API_KEY + "\n")
    result = verify("--key-from", "env:A", "--key-from", "env:B", "--key-from", "env:C",
                    "--key-from", f"file:{key_file}", "-o", "json",
                    env={"A": SIM_API_KEY, "B": BAD_KEY, "C": SIM_UNPAID_KEY})
    data = as_json(result)
    assert result.exit_code == 1 and data["summary"] == "2 of 4 keys valid"
    assert [(k["source"], k["verdict"]) for k in data["keys"]] == [
        ("env:A", "valid"), ("env:B", "invalid_key"), ("env:C", "payment_not_activated"),
        (f"file:{key_file}", "valid")]
    assert data["keys"][3]["warnings"] == ["same key as env:A"]
    table = verify("--key-from", "env:A", "--key-from", "env:B", env={"A": SIM_API_KEY, "B": BAD_KEY})
    header = next(line for line in table.stdout.splitlines() if "env:A" in line)
    assert "env:B" in header  # one column per key


def test_aws_sources(verify, moto_server, make_secret):
    plain = make_secret(SIM_API_KEY)
    as_json_secret = make_secret(json.dumps({"api_key": SIM_API_KEY, "org": "acme"}))
    result = verify("--key-from", f"aws:{plain}", "--key-from", f"aws:{as_json_secret}#api_key", "-o", "json",
                    env={"AWS_ENDPOINT_URL": moto_server})
    data = as_json(result)
    assert result.exit_code == 0, result.stderr
    assert [(k["source"], k["verdict"]) for k in data["keys"]] == [
        (f"aws:{plain}", "valid"), (f"aws:{as_json_secret}#api_key", "valid")]


def test_aws_unreachable_endpoint(verify):
    result = verify("--key-from", "aws:prod/mistral", env={"AWS_ENDPOINT_URL": closed_port_url()})
    assert result.exit_code == 3
    assert "unreachable while reading secret prod/mistral" in result.stderr


def _bad_inputs(tmp_path, make_secret) -> list[tuple[list[str], dict[str, str], str]]:
    empty, json_file = tmp_path / "empty", tmp_path / "keys.json"
    empty.write_text("\n")
    json_file.write_text('{"prod": "x"}')
    return [
        (["--key-from", "MISTRAL_API_KEY"], {}, "expected SCHEME:TARGET"),
        (["--key-from", "vault:secret/x"], {}, "unknown source 'vault'"),
        (["--key-from", "env:"], {}, "nothing after 'env:'"),
        (["--key-from", "env:A#b"], {}, "env sources take no #field"),
        (["--key-from", "aws:x#"], {}, "empty field after '#'"),
        ([], {}, "environment variable MISTRAL_API_KEY is not set"),
        (["--key-from", "env:K"], {"K": " "}, "environment variable K is empty"),
        (["--key-from", f"file:{tmp_path}/nope"], {}, "not found"),
        (["--key-from", f"file:{empty}"], {}, "is empty"),
        (["--key-from", f"file:{json_file}"], {}, "holds a JSON object"),
        (["--key-from", "aws:does/not/exist"], {}, "secret does/not/exist not found"),
        (["--key-from", f"aws:{make_secret(json.dumps({'other': 'v'}))}#api_key"], {}, "has no field 'api_key'"),
        (["--key-from", f"aws:{make_secret('plain-value-123')}#api_key"], {}, "is not a JSON object"),
        (["--key-from", f"aws:{make_secret(json.dumps({'api_key': SIM_API_KEY}))}"], {}, "holds a JSON object"),
        (["--key-from", f"aws:{make_secret(b'binary')}"], {}, "has no SecretString"),
        (["--key-from", f"aws:{make_secret('   ')}"], {}, "is empty"),
        (["--key-from", "env:K", "--base-url", "ftp://x"], {"K": SIM_API_KEY}, "is not an http(s) URL"),
        (["--key-from", "env:K", "--model", " "], {"K": SIM_API_KEY}, "empty model name"),
    ]


def test_bad_inputs_exit_2_with_a_clear_message(verify, moto_server, make_secret, tmp_path):
    for args, env, message in _bad_inputs(tmp_path, make_secret):
        result = verify(*args, env={"AWS_ENDPOINT_URL": moto_server, **env})
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == "", args
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("Error: ") and message in lines[0], (args, result.stderr)
        assert lines[1].startswith("Hint: "), (args, result.stderr)
        assert "Traceback" not in result.stderr and SIM_API_KEY not in result.stderr


def test_the_key_never_appears(cli, mistral_sim, moto_server, make_secret, tmp_path):
    """Plant keys in every source; run every format, --debug and the SDK's own debug log; grep for them."""
    key_file = tmp_path / "key"
    key_file.write_text(SIM_API_KEY)
    secret = make_secret(json.dumps({"api_key": SIM_UNPAID_KEY}))
    env = {"A": SIM_API_KEY, "B": BAD_KEY, "AWS_ENDPOINT_URL": moto_server, "MISTRAL_DEBUG": "1",
           "MAGENT_MISTRAL_URL": mistral_sim.url}
    verify = ["key", "verify", "--key-from", "env:A", "--key-from", "env:B", "--key-from", f"file:{key_file}",
              "--key-from", f"aws:{secret}#api_key", "-m", "mistral-small-latest"]
    runs = [cli(*verify, "-o", fmt, env=env) for fmt in ("table", "json", "yaml")]
    runs.append(cli("--debug", *verify, env=env))
    runs.append(cli("--debug", "-o", "json", *verify[:2], "--key-from", "env:B", env=env))
    runs.append(cli("--debug", *verify[:2], "--key-from", BAD_KEY, env=env))  # a key pasted as the spec
    log = tmp_path / "everything.log"
    log.write_text("".join(run.output for run in runs))
    text = log.read_text()
    assert " DEBUG " in text and "PAYMENT NOT ACTIVATED" in text and "INVALID KEY" in text
    for planted in (SIM_API_KEY, BAD_KEY, SIM_UNPAID_KEY):
        assert planted not in text
