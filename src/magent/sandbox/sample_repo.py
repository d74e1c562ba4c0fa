"""The sample application's repository that `magent demo` runs preflight on: mostly right, one planted flaw.

Written into the sandbox's folder at start. The flaw is a Mistral key hard-coded in `app/settings.py` (a
throwaway key the simulator does not accept); `magent preflight` must find it and say how to fix it,
without ever printing it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MAIN_PY = '''\
"""The sample agent: answers questions through the Mistral API, with retries, a timeout and a breaker."""

import logging
import os

import pybreaker
from mistralai.client import Mistral
from mistralai.client.utils import BackoffStrategy, RetryConfig

logging.getLogger("mistralai").setLevel(logging.INFO)

breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30)
client = Mistral(
    api_key=os.environ["MISTRAL_API_KEY"],
    retry_config=RetryConfig("backoff", BackoffStrategy(500, 30_000, 1.5, 120_000), True),
    timeout_ms=20_000,
)


@breaker
def answer(question: str) -> str:
    response = client.chat.complete(
        model="mistral-small-2506",
        messages=[{"role": "user", "content": question}],
        max_tokens=512,
        temperature=0.3,
    )
    return response.choices[0].message.content
'''

SETTINGS_PY = '''\
"""Settings of the sample agent."""

import os

ENVIRONMENT = os.environ.get("ENVIRONMENT", "production")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# Planted flaw for `magent demo`: a key pasted "just for a test" and committed.
mistral_fallback_key = "{key}"
'''

MODELS_YAML = '''\
# Model settings of the sample agent
assistant:
  model: mistral-small-2506
  max_tokens: 512
  temperature: 0.3
summarizer:
  model: mistral-large-2411
  max_tokens: 1024
  temperature: 0.1
'''

TEST_PY = '''\
import unittest


class SmokeTest(unittest.TestCase):
    def test_truth(self):
        self.assertTrue(True)
'''

CHECKLIST_YAML = '''\
# The demo's checklist: production's, without the AWS items (the sandbox has no AWS account).
extends: production
name: production
exclude: [aws.key-in-vault, aws.alarms]
'''


def planted_key() -> str:
    """A throwaway key of the real shape (upper, lower and digits), accepted by no simulator."""
    from magent.sandbox.mistral import generate_key

    while True:
        key = generate_key()
        if all(re.search(pattern, key) for pattern in ("[A-Z]", "[a-z]", "[0-9]")):
            return key


def write_sample_repo(root: Path) -> Path:
    """Write the sample application's repository under `root`; returns its folder."""
    repo = root / "agent-app"
    files = {
        "app/__init__.py": "",
        "app/main.py": MAIN_PY,
        "app/settings.py": SETTINGS_PY.format(key=planted_key()),
        "config/models.yaml": MODELS_YAML,
        "tests/__init__.py": "",
        "tests/test_smoke.py": TEST_PY,
        ".gitignore": ".venv/\n__pycache__/\n",
    }
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return repo


def tests_command() -> str:
    return f"{sys.executable} -m unittest discover -q -s tests"
