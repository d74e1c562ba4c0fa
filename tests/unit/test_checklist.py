"""Checklists are data: the shipped ones load, broken ones are exit 2 naming file, line and item."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magent.checks import validate_item
from magent.core.checklist import builtin_names, load_checklist
from magent.core.errors import ConfigError

GOOD_ITEM = """\
      - id: {id}
        title: A title
        severity: {severity}
        check: {check}
        remediation: Fix it.
"""


def write(tmp_path, body: str, name: str = "team.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def checklist_text(*items: str, section: str = "secrets") -> str:
    return f"name: team\nsections:\n  - id: {section}\n    title: Secrets\n    items:\n" + "".join(items)


@pytest.mark.parametrize("name", builtin_names())
def test_shipped_checklists_load_with_every_check_registered(name):
    checklist = load_checklist(name, validate_check=validate_item)
    ids = [placed.item.id for placed in checklist.items]
    assert len(ids) == len(set(ids)) and len(ids) >= 10
    assert checklist.source == f"builtin:{name}"


def test_production_names_every_check_type_of_the_issue():
    checklist = load_checklist("production", validate_check=validate_item)
    used = {placed.item.check for placed in checklist.items}
    assert used >= {
        "mistral.key-valid", "mistral.models-exist", "config.model-settings", "code.no-hardcoded-key",
        "code.tests-pass", "code.resilience", "k8s.required-env", "k8s.key-from-secret", "k8s.probes",
        "k8s.resources", "k8s.image-pinned", "k8s.replicas", "k8s.pdb", "k8s.rbac", "aws.key-in-vault",
        "aws.alarms", "http.health", "deploy.analysis-reachable", "docs.runbooks", "store.ready", "manual",
    }


def test_staging_extends_production_excluding_and_reweighting():
    staging = load_checklist("staging", validate_check=validate_item)
    production = load_checklist("production", validate_check=validate_item)
    ids = {placed.item.id for placed in staging.items}
    assert "aws.alarms" not in ids and "code.no-hardcoded-key" in ids
    assert staging.find("aws.key-in-vault").item.severity == "warning"
    assert production.find("aws.key-in-vault").item.severity == "critical"
    assert staging.sha256 != production.sha256


def test_team_file_adds_items_to_an_existing_section(tmp_path):
    path = write(tmp_path, "extends: production\nsections:\n  - id: secrets\n    title: x\n    items:\n"
                 + GOOD_ITEM.format(id="team.extra", severity="info", check="manual"))
    checklist = load_checklist(str(path), validate_check=validate_item)
    assert checklist.find("team.extra").section.id == "secrets"
    assert checklist.name == "production"


@pytest.mark.parametrize("body, expected", [
    (checklist_text(GOOD_ITEM.format(id="a.b", severity="critical", check="no.such-check")),
     r"team.yaml:6: item a.b: unknown check type 'no.such-check'"),
    (checklist_text(GOOD_ITEM.format(id="a.b", severity="critical", check="k8s.probe")),
     r"did you mean 'k8s.probes'"),
    (checklist_text(GOOD_ITEM.format(id="a.b", severity="urgent", check="manual")),
     r"team.yaml:8: item a.b: severity must be critical, warning or info \(got 'urgent'\)"),
    (checklist_text("      - id: a.b\n        title: T\n        severity: info\n        check: manual\n"),
     r"team.yaml:6: item a.b: missing field 'remediation'"),
    (checklist_text(GOOD_ITEM.format(id="a.b", severity="info", check="manual"),
                    GOOD_ITEM.format(id="a.b", severity="info", check="manual")),
     r"team.yaml:11: item a.b: duplicate id"),
    (checklist_text(GOOD_ITEM.format(id="a.b", severity="info", check="manual") + "        colour: red\n"),
     r"team.yaml:11: item a.b: unknown field 'colour'"),
    ("name: team\nsections:\n  - id: x\n    title: [unclosed\n", r"team.yaml:5: not valid YAML"),
    ("- just\n- a list\n", r"a checklist is a mapping with 'sections'"),
    ("extends: production\nexclude: [no.such-item]\n", r"team.yaml:2: exclude: no item 'no.such-item'"),
    ("extends: production\nseverity: {k8s.probes: high}\n", r"severity must be critical, warning or info"),
    ("name: empty\nsections: []\n", r"the checklist has no items"),
    ("extends: nowhere.yaml\n", r"checklist nowhere.yaml not found"),
])
def test_broken_checklists_name_file_line_and_item(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_checklist(str(path), validate_check=validate_item)
    assert caught.value.exit_code == 2 and caught.value.hint


def test_bad_check_params_name_the_parameter(tmp_path):
    item = GOOD_ITEM.format(id="k8s.required-env", severity="critical", check="k8s.required-env")
    path = write(tmp_path, checklist_text(item + "        params: {no_such_param: 1}\n"))
    with pytest.raises(ConfigError, match=r"item k8s.required-env: params.no_such_param: unknown parameter"):
        load_checklist(str(path), validate_check=validate_item)


def test_extends_loop_is_an_error(tmp_path):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(ConfigError, match="loops back"):
        load_checklist(str(tmp_path / "a.yaml"))


def test_item_hash_changes_with_its_definition_only():
    production = load_checklist("production")
    item = production.find("oncall.rotation").item
    assert item.definition_hash() == item.model_copy().definition_hash()
    assert item.definition_hash() != item.model_copy(update={"title": "other"}).definition_hash()


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
_documents = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(
        ["name", "sections", "items", "id", "title", "severity", "check", "remediation", "params", "extends",
         "exclude", "runbook", "timeout", "critical", "manual"]), inner, max_size=6)), max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=_documents)
def test_fuzzed_checklists_load_or_raise_config_error(tmp_path, document):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(document))
    try:
        load_checklist(str(path), validate_check=validate_item)
    except ConfigError as exc:
        assert exc.message and "\n" not in exc.message


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_fuzzed_yaml_text_never_escapes_as_another_error(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text)
    try:
        load_checklist(str(path), validate_check=validate_item)
    except ConfigError:
        pass
