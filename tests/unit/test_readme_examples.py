"""The magent.yaml examples in the README are valid configuration (the front door must not lie)."""

import re
from pathlib import Path

import pytest

from magent.core.config import load_settings

README = Path(__file__).resolve().parents[2] / "README.md"
CONFIG_BLOCKS = [
    block for block in re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.S)
    if block.startswith(("default_profile:", "deploy:", "preflight:"))
]


def test_readme_has_config_examples():
    assert len(CONFIG_BLOCKS) >= 2


@pytest.mark.parametrize("block", CONFIG_BLOCKS, ids=lambda b: b.split(":")[0])
def test_readme_config_example_loads(tmp_path, block):
    path = tmp_path / "magent.yaml"
    path.write_text(block)
    settings, _, _ = load_settings(str(path), env={})
    assert settings.deploy.steps and settings.preflight.checklist


CHECKLIST_BLOCKS = [block for block in re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.S)
                    if "extends: production" in block]


def test_readme_checklist_example_loads(tmp_path):
    from magent.checks import validate_item
    from magent.core.checklist import load_checklist

    assert CHECKLIST_BLOCKS
    path = tmp_path / "team-checklist.yaml"
    path.write_text(CHECKLIST_BLOCKS[0])
    checklist = load_checklist(str(path), validate_check=validate_item)
    assert checklist.find("dpa.signed").section.id == "compliance"
    assert checklist.find("aws.alarms") is None
    assert checklist.find("code.resilience").item.severity == "critical"
