"""The magent.yaml examples in the README are valid configuration (the front door must not lie)."""

import re
from pathlib import Path

import pytest

from magent.core.config import load_settings

README = Path(__file__).resolve().parents[2] / "README.md"
CONFIG_BLOCKS = [
    block for block in re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.S)
    if block.startswith(("default_profile:", "deploy:"))
]


def test_readme_has_config_examples():
    assert len(CONFIG_BLOCKS) >= 2


@pytest.mark.parametrize("block", CONFIG_BLOCKS, ids=lambda b: b.split(":")[0])
def test_readme_config_example_loads(tmp_path, block):
    path = tmp_path / "magent.yaml"
    path.write_text(block)
    settings, _, _ = load_settings(str(path), env={})
    assert settings.deploy.steps
