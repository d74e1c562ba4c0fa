"""Shared fixtures: a clean environment per test, and an in-process runner for the real CLI entry point."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings

from magent.core.redact import SECRETS

# CI runs the suite on 2 loaded cores: a slow draw or a slow example is the machine, not a finding. Each test's own
# @settings (max_examples…) still applies on top of this profile.
settings.register_profile("magent", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("magent")

# Real local servers, one module each, started once per session.
pytest_plugins = ["fixtures.mistral", "fixtures.aws", "fixtures.ecs", "fixtures.postgres", "fixtures.kube", "fixtures.prometheus"]

# Variables that would leak the developer's machine into tests.
_ISOLATED_PREFIXES = ("MAGENT_", "MISTRAL_", "AWS_", "KUBECONFIG", "NO_COLOR", "DATABASE_URL")

# CI sets this so that a test which needs an optional tool fails instead of skipping.
REQUIRE_TOOLS_VAR = "MAGENT_REQUIRE_TOOLS"


def require_tool(name: str, hint: str = "") -> str:
    """Path of executable `name`; skip (locally) or fail (in CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed{': ' + hint if hint else ''}"
        if os.environ.get(REQUIRE_TOOLS_VAR):
            pytest.fail(f"{reason} ({REQUIRE_TOOLS_VAR} is set, so this is a failure)")
        pytest.skip(reason)
    return path


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch, tmp_path_factory):
    require = os.environ.get(REQUIRE_TOOLS_VAR)
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    if require:
        monkeypatch.setenv(REQUIRE_TOOLS_VAR, require)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("MAGENT_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(home)
    SECRETS.clear()
    yield


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `magent ARGS…` through the real entry point (`main()`), in process; returns a CliResult."""
    import logging

    from magent.cli.app import main

    monkeypatch.setenv("COLUMNS", "200")
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["magent", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield run
    # main() points the root logger at this test's captured stderr; later threads must not log into it.
    root.handlers[:], root.level = saved_handlers, saved_level
