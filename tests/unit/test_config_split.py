"""magent.core.config split by concern (models / loading / file:line errors) without breaking its importers."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import magent.core.config as config
from magent.core.config_models import Settings, validate_settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG_MODULES = ("config.py", "config_models.py", "config_lines.py", "config_file.py", "config_yaml.py",
                  "config_sources.py")


def _names_imported_from_config() -> set[str]:
    names = set()
    for folder in ("src", "tests", "benchmarks", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "magent.core.config import" not in text:
                continue
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.ImportFrom) and node.module == "magent.core.config":
                    names.update(alias.name for alias in node.names)
    return names


def test_every_name_the_tree_imports_from_config_is_still_there():
    names = _names_imported_from_config()
    assert {"load_settings", "Settings", "KubeSettings", "_line_of"} <= names  # the scan sees the real importers
    assert sorted(name for name in names if not hasattr(config, name)) == []


def test_the_public_names_are_re_exported():
    assert sorted(name for name in config.__all__ if not hasattr(config, name)) == []
    assert config.Settings.__module__ == "magent.core.config_models"


@pytest.mark.parametrize("module", CONFIG_MODULES)
def test_each_config_module_keeps_to_the_house_size(module):
    lines = (ROOT / "src" / "magent" / "core" / module).read_text(encoding="utf-8").count("\n")
    assert lines <= 400, f"{module}: {lines} lines"


_LOAD_FROM_ENVIRONMENT = """
import sys
from magent.core import config
settings, _, _ = config.load_settings(env={"MAGENT_NAMESPACE": "shop", "KUBECONFIG": "/k"})
print(settings.kubernetes.namespace, settings.deploy.rollout_timeout, config.Settings.__pydantic_complete__,
      config.DeploySettings.__pydantic_complete__)
"""


def test_settings_from_the_environment_alone_build_only_the_sections_set(tmp_path):
    done = subprocess.run([sys.executable, "-c", _LOAD_FROM_ENVIRONMENT], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert (done.returncode, done.stdout.split()) == (0, ["shop", "600.0", "False", "False"]), done.stderr


_SECTIONS = st.sampled_from(["mistral", "aws", "kubernetes", "store", "deploy", "preflight", "export", "nope"])
_VALUES = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(0, 120), max_size=3),
                    st.floats(allow_nan=True))
_BLOCKS = st.one_of(_VALUES, st.dictionaries(st.sampled_from(
    ["namespace", "steps", "interval", "timeout", "base_url", "region", "job", "database_url", "x"]), _VALUES,
    max_size=3))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_SECTIONS, _BLOCKS, max_size=3))
def test_validating_the_sections_present_is_settings_validation(merged):
    try:
        expected = Settings.model_validate(merged)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as raised:
            validate_settings(merged)
        assert raised.value.errors(include_context=False)[0] == exc.errors(include_context=False)[0]
    else:
        assert validate_settings(merged) == expected
