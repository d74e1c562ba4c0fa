"""code.resilience: the AST analysis of Python sources, and the check over example projects."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.preflight import PreflightOptions, run_check
from hypothesis import given, settings
from hypothesis import strategies as st

from magent.core.resilience import analyse_python

PROJECTS = Path(__file__).parent.parent / "data" / "preflight" / "resilience"
GOOD_CLIENT = 'Mistral(api_key=k, retry_config=RETRY, timeout_ms=30_000)'


def issues(source: str) -> list[tuple[str, int | None]]:
    return [(issue.rule, issue.line) for issue in analyse_python(source).issues]


@pytest.mark.parametrize("source", [
    f"from mistralai import Mistral\nc = {GOOD_CLIENT}\n",
    f"from mistralai.client import Mistral\nc = {GOOD_CLIENT}\n",
    f"from mistralai.client import Mistral as M\nc = {GOOD_CLIENT.replace('Mistral', 'M')}\n",
    f"import mistralai\nc = mistralai.{GOOD_CLIENT}\n",
    f"import mistralai.client\nc = mistralai.client.{GOOD_CLIENT}\n",
    f"import mistralai.client as mc\nc = mc.{GOOD_CLIENT}\n",
    f"from mistralai import client\nc = client.{GOOD_CLIENT}\n",
])
def test_every_import_form_is_a_client(source):
    analysis = analyse_python(source)
    assert analysis.clients == 1 and analysis.issues == []
    bare = source.replace(", retry_config=RETRY, timeout_ms=30_000", "")
    assert issues(bare) == [("retry-config", 2), ("timeout", 2)]


def test_other_classes_named_mistral_are_not_clients():
    assert analyse_python("from mylib import Mistral\nMistral()\n").clients == 0
    assert analyse_python("Mistral()\n").clients == 0


@pytest.mark.parametrize(("call", "expected"), [
    ("Mistral(api_key=k, retry_config=None, timeout_ms=1000)", [("retry-config", 2)]),
    ('Mistral(retry_config=RetryConfig("none", b, False), timeout_ms=1)', [("retry-config", 2)]),
    ('Mistral(retry_config=RetryConfig(strategy="none", backoff=b, retry_connection_errors=False), timeout_ms=1)',
     [("retry-config", 2)]),
    ("Mistral(retry_config=r, timeout_ms=None)", [("timeout", 2)]),
    ("Mistral(retry_config=r, client=httpx.Client(timeout=10))", []),  # its own client carries a timeout
    ("Mistral(**options)", []),  # cannot tell: not judged
])
def test_retry_and_timeout_rules(call, expected):
    assert issues(f"from mistralai.client import Mistral\n{call}\n") == expected


@pytest.mark.parametrize(("source", "expected"), [
    ('import logging\nlogging.getLogger("mistralai").setLevel(logging.DEBUG)\n', [("debug-logging", 2)]),
    ('import logging\nlogging.getLogger("httpx").setLevel("DEBUG")\n', [("debug-logging", 2)]),
    ('import logging\nlogging.getLogger("httpcore.http11").setLevel(10)\n', [("debug-logging", 2)]),
    ('from logging import getLogger, DEBUG\nlog = getLogger("httpx")\nlog.setLevel(DEBUG)\n', [("debug-logging", 3)]),
    ('import logging as lg\nlg.getLogger("mistralai.client").setLevel(lg.DEBUG)\n', [("debug-logging", 2)]),
    ('import logging\nlogging.getLogger("httpx").setLevel(logging.INFO)\n', []),
    ('import logging\nlogging.getLogger("myapp").setLevel(logging.DEBUG)\n', []),
    ('import logging\nlogging.getLogger(__name__).setLevel(logging.DEBUG)\n', []),
    ("import logging\nlogging.basicConfig(level=logging.DEBUG)\n", [("root-debug-logging", 2)]),
    ('import logging, os\nlogging.basicConfig(level=os.getenv("LOG_LEVEL", "DEBUG"))\n', [("root-debug-logging", 2)]),
    ('import logging, os\nlogging.basicConfig(level=os.getenv("LOG_LEVEL", "INFO"))\n', []),
    ("import logging\nlogging.getLogger().setLevel(logging.DEBUG)\n", [("root-debug-logging", 2)]),
    ('C = {"version": 1, "loggers": {"httpx": {"level": "DEBUG"}}}\n', [("debug-logging", 1)]),
    ('C = {"version": 1, "loggers": {"app": {"level": "DEBUG"}}, "root": {"level": "DEBUG"}}\n',
     [("root-debug-logging", 1)]),
    ('C = {"root": {"level": "DEBUG"}}\n', []),  # not a dictConfig (no `version`)
    ('import os\nos.environ["MISTRAL_DEBUG"] = "1"\n', [("debug-logging", 2)]),
    ('import os\nos.environ.setdefault("MISTRAL_DEBUG", "0")\n', [("debug-logging", 2)]),
])
def test_debug_logging_rules(source, expected):
    assert issues(source) == expected


def test_root_debug_is_lower_severity():
    (issue,) = analyse_python("import logging\nlogging.basicConfig(level=logging.DEBUG)\n").issues
    assert issue.severity == "info"


@pytest.mark.parametrize(("source", "kind"), [
    ("import pybreaker\n", "circuit breaker"),
    ("from circuitbreaker import circuit\n", "circuit breaker"),
    ("from purgatory import AsyncCircuitBreakerFactory\n", "circuit breaker"),
    ("import aiobreaker\n", "circuit breaker"),
    ("from tenacity import retry\n", "backoff"),
    ("class MistralCircuitBreaker: ...\n", "circuit breaker"),
    ("async def answer_with_fallback(q): ...\n", "fallback"),
])
def test_breaker_evidence(source, kind):
    assert [e.kind for e in analyse_python(source).evidence] == [kind]


def test_no_evidence_in_plain_code():
    assert analyse_python("import requests\ndef ask(): ...\n").evidence == []


def test_syntax_error_is_an_issue_not_a_crash():
    analysis = analyse_python("def broken(:\n")
    assert not analysis.parsed and issues("def broken(:\n") == [("syntax-error", 1)]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | st.builds(
    "\n".join, st.lists(st.sampled_from([
        "from mistralai.client import Mistral", "import logging", "Mistral(", "retry_config=None", ")",
        'logging.getLogger("httpx").setLevel(', "logging.DEBUG)", "{", '"loggers": {', "}", "def f(:",
        "import mistralai as m", "m.Mistral(**x)", "class Breaker:", "  pass", '"\\x00"', "(" * 200,
    ]), max_size=12)))
def test_analyser_never_raises(source):
    analysis = analyse_python(source)
    assert analysis.clients >= 0


@pytest.mark.parametrize("source", ["(" * 300_000, "x = " + "-" * 200_000 + "1", "\x00", "[" * 100_000])
def test_pathological_sources(source):
    analyse_python(source)


# --- the check over example projects -------------------------------------------------------------------------

def resilience(project: str | Path | None, **kwargs):
    repo = None if project is None else (PROJECTS / project if isinstance(project, str) else project)
    return run_check("code.resilience", options=PreflightOptions(repo=repo), **kwargs)


def test_skips_without_repo():
    result = resilience(None)
    assert result.status == "skip" and "--repo" in result.message


def test_the_seed_example_fails():
    result = resilience("seed_bad")
    assert result.status == "fail"
    found = sorted((f.file, f.line, f.rule) for f in result.findings)
    assert found == [("app/logging_config.py", 4, "debug-logging"), ("app/main.py", 8, "debug-logging"),
                     ("app/main.py", 10, "retry-config"), ("app/main.py", 10, "timeout")]
    assert "no circuit breaker or fallback seen (attest resilience.circuit-breaker)" in result.message


def test_a_good_project_passes_and_its_tests_are_not_read():
    result = resilience("good")
    assert result.status == "pass", result.message
    assert "1 Mistral client in 1 Python file" in result.message
    assert "circuit breaker: import pybreaker (app/client.py:5)" in result.message
    with_tests = resilience("good", params={"include_tests": True})
    assert with_tests.status == "fail" and {f.file for f in with_tests.findings} == {"tests/fakes.py"}


def test_no_breaker_asks_for_an_attestation():
    result = resilience("no_breaker")
    assert result.status == "warn"
    assert "magent preflight attest resilience.circuit-breaker --by NAME --note" in result.message


def test_other_languages_are_a_skip_with_why():
    result = resilience("typescript")
    assert result.status == "skip"
    assert result.message.startswith("no Python sources: code.resilience reads Python only (found 12 .ts files)")


def test_no_client_is_a_skip():
    result = resilience("no_client")
    assert result.status == "skip" and "no Mistral(...) client in 1 Python file" in result.message


def test_noisy_loggers_fail_even_without_a_client(tmp_path):
    (tmp_path / "log.py").write_text("import logging\nlogging.basicConfig(level=logging.DEBUG)\n")
    assert resilience(tmp_path).status == "skip"
    (tmp_path / "log.py").write_text('import logging\nlogging.getLogger("httpx").setLevel(logging.DEBUG)\n')
    assert resilience(tmp_path).status == "fail"


def test_gitignored_and_excluded_files_are_not_read(tmp_path):
    (tmp_path / "app.py").write_text(f"from mistralai import Mistral\nc = {GOOD_CLIENT}\nimport pybreaker\n")
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "old.py").write_text("from mistralai import Mistral\nMistral()\n")
    assert resilience(tmp_path).status == "fail"
    assert resilience(tmp_path, params={"exclude": ["generated/"]}).status == "pass"
    (tmp_path / ".gitignore").write_text("generated/\n")
    assert resilience(tmp_path).status == "pass"


def test_an_unparsable_file_warns(tmp_path):
    (tmp_path / "app.py").write_text(f"from mistralai import Mistral\nc = {GOOD_CLIENT}\nimport pybreaker\n")
    (tmp_path / "py2.py").write_text("print 'hello'\n")
    result = resilience(tmp_path)
    assert result.status == "warn" and "1 Python file did not parse" in result.message
    assert [(f.file, f.rule, f.severity) for f in result.findings] == [("py2.py", "syntax-error", "info")]
