"""docs/ci.md: each YAML recipe parses, has the structure its CI expects, runs magent commands the CLI accepts, and
its shell scripts are valid bash. The CronJob is checked field by field against the official Kubernetes models
and by magent's own offline k8s checks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.doc_commands import ROOT, CommandLine, _root, commands_in_yaml, parse_error

CI_DOC = ROOT / "docs" / "ci.md"


def _yaml_blocks() -> list[tuple[int, str]]:
    """(first line, text) of each ```yaml block."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(CI_DOC.read_text(encoding="utf-8"))
    return [(token.map[0] + 2, token.content) for token in tokens
            if token.type == "fence" and token.info.strip() == "yaml"]


BLOCKS = _yaml_blocks()


def _recipe(predicate) -> tuple[int, dict]:
    found = [(line, yaml.safe_load(text)) for line, text in BLOCKS]
    matches = [(line, doc) for line, doc in found if isinstance(doc, dict) and predicate(doc)]
    assert len(matches) == 1, f"expected one such recipe in {CI_DOC.name}, found {len(matches)}"
    return matches[0]


def _github() -> dict:
    return _recipe(lambda doc: "jobs" in doc)[1]


def _gitlab() -> dict:
    return _recipe(lambda doc: "stages" in doc)[1]


def _cronjob() -> dict:
    return _recipe(lambda doc: doc.get("kind") == "CronJob")[1]


def _commands(doc_text: str, first_line: int) -> list[CommandLine]:
    return commands_in_yaml(doc_text, file="docs/ci.md", first_line=first_line)


def _argv_of(commands: list[CommandLine], *path: str) -> tuple[str, ...]:
    [argv] = [c.argv for c in commands if c.argv[:len(path)] == path]
    return argv


def _output_file(argv: tuple[str, ...], suffix: str) -> str:
    [name] = [argv[i + 1] for i, word in enumerate(argv) if word == "--output-file" and argv[i + 1].endswith(suffix)]
    return name


def test_the_doc_has_the_three_recipes() -> None:
    assert len(BLOCKS) == 3
    assert all(isinstance(yaml.safe_load(text), dict) for _, text in BLOCKS)


def test_every_magent_command_in_the_recipes_parses() -> None:
    root = _root()
    commands = [c for line, text in BLOCKS for c in _commands(text, line)]
    assert len(commands) >= 7
    failures = [f"{c.where}: magent {' '.join(c.argv)}: {error.message}"
                for c in commands if (error := parse_error(c, root=root))]
    assert not failures, "\n".join(failures)


def test_github_workflow() -> None:
    workflow = _github()
    assert workflow.get("on", workflow.get(True)) == {"push": {"branches": ["main"]}}  # YAML 1.1 reads `on` as True
    assert workflow["permissions"]["security-events"] == "write"
    assert workflow["concurrency"]["cancel-in-progress"] is False
    preflight, deploy = workflow["jobs"]["preflight"], workflow["jobs"]["deploy"]
    assert deploy["needs"] == "preflight"
    steps = {step.get("uses", "").split("@")[0] or step.get("name"): step for step in preflight["steps"]}
    [run] = [step["run"] for step in preflight["steps"] if "magent preflight" in step.get("run", "")]
    argv = _commands(yaml.safe_dump({"run": run}), 1)[0].argv
    sarif = steps["github/codeql-action/upload-sarif"]
    assert sarif["if"] == "always()" and sarif["with"]["sarif_file"] == _output_file(argv, ".sarif")
    junit = steps["mikepenz/action-junit-report"]
    assert junit["if"] == "always()" and junit["with"]["report_paths"] == _output_file(argv, ".xml")
    deploy_step = next(step for step in deploy["steps"] if step.get("id") == "deploy")
    deploy_argv = _argv_of(_commands(yaml.safe_dump(deploy_step), 1), "deploy")
    assert {"-o", "json", "--yes"} <= set(deploy_argv) and "GITHUB_OUTPUT" in deploy_step["run"]
    rollback = next(step for step in deploy["steps"] if "magent rollback" in step.get("run", ""))
    assert "--yes" in _argv_of(_commands(yaml.safe_dump(rollback), 1), "rollback")
    # roll back what is unfinished (4, 130, cancelled), never after exit 1: magent already did, and a rollback
    # then would undo the last good release
    assert "'4'" in rollback["if"] and "'130'" in rollback["if"] and "cancelled()" in rollback["if"]
    assert "'1'" not in rollback["if"]


def test_gitlab_pipeline() -> None:
    pipeline = _gitlab()
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job}
    assert set(jobs) == {"preflight", "deploy"}
    assert all(job["stage"] in pipeline["stages"] for job in jobs.values())
    assert pipeline["stages"].index("preflight") < pipeline["stages"].index("deploy")
    preflight_argv = _argv_of(_commands(yaml.safe_dump(jobs["preflight"]), 1), "preflight")
    assert jobs["preflight"]["artifacts"]["reports"]["junit"] == _output_file(preflight_argv, ".xml")
    assert jobs["preflight"]["artifacts"]["when"] == "always"
    deploy = jobs["deploy"]
    assert deploy["resource_group"] and deploy["environment"] == "production"
    commands = _commands(yaml.safe_dump({"script": deploy["script"]}), 1)
    assert {"-o", "json", "--yes"} <= set(_argv_of(commands, "deploy"))
    assert "--yes" in _argv_of(commands, "rollback")
    assert re.search(r"^\s*4\|130\)", deploy["script"][0], flags=re.M)
    assert "magent rollback" in deploy["after_script"][0] and "canceled" in deploy["after_script"][0]


def test_cronjob_manifest() -> None:
    cronjob = _cronjob()
    assert (cronjob["apiVersion"], cronjob["kind"]) == ("batch/v1", "CronJob")
    spec = cronjob["spec"]
    assert len(spec["schedule"].split()) == 5 and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    [container] = pod["containers"]
    assert container["command"][:3] == ["magent", "conversations", "export"]
    env = {item["name"]: item for item in container["env"]}
    for name in ("MISTRAL_API_KEY", "MAGENT_DATABASE_URL"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] and ref["key"] and "value" not in env[name]


def _unknown_fields(data: Any, model: str, where: str = "") -> list[str]:
    """Keys the official Kubernetes model does not have (a typo such as `secretKeyref` would be silently dropped)."""
    import kubernetes.client as k8s

    if model.startswith("list["):
        return [e for i, item in enumerate(data) for e in _unknown_fields(item, model[5:-1], f"{where}[{i}]")]
    if model.startswith("dict(") or not hasattr(k8s, model):
        return []
    cls = getattr(k8s, model)
    by_json = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    errors = [f"{where}.{key}" for key in data if key not in by_json]
    for key, value in data.items():
        if key in by_json and isinstance(value, (dict, list)):
            errors += _unknown_fields(value, cls.openapi_types[by_json[key]], f"{where}.{key}")
    return errors


def test_cronjob_has_only_fields_of_the_kubernetes_api() -> None:
    from kubernetes.client import ApiClient

    cronjob = _cronjob()
    assert _unknown_fields(cronjob, "V1CronJob") == []
    assert _unknown_fields({"spec": {"schedul": "x"}}, "V1CronJob") == [".spec.schedul"]  # the check can fail
    model = ApiClient()._ApiClient__deserialize(cronjob, "V1CronJob")  # required fields and types
    assert model.spec.job_template.spec.template.spec.containers[0].env[0].value_from.secret_key_ref.key


def test_cronjob_passes_magents_own_k8s_checks(cli, tmp_path: Path) -> None:
    import json

    manifest = tmp_path / "cronjob.yaml"
    manifest.write_text(yaml.safe_dump(_cronjob()))
    result = cli("preflight", "--manifests", str(manifest), "--only", "k8s", "-o", "json")
    assert result.exit_code == 0, result.stdout
    statuses = {item["id"]: item["status"] for item in json.loads(result.stdout)["items"]}
    assert statuses["k8s.key-from-secret"] == statuses["k8s.resources"] == statuses["k8s.image-pinned"] == "pass"


def _scripts(node: Any) -> list[str]:
    """Every `run:` (GitHub) and `script:`/`after_script:`/`before_script:` entry (GitLab)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key in ("script", "after_script", "before_script") and isinstance(value, list):
                found.extend(value)
            else:
                found.extend(_scripts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_scripts(item))
    return found


@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_scripts_are_valid_bash(recipe: str) -> None:
    bash = shutil.which("bash")
    assert bash, "bash is needed to check the recipes' scripts"
    doc = _github() if recipe == "github" else _gitlab()
    scripts = _scripts(doc)
    assert len(scripts) >= 4
    for script in scripts:
        text = re.sub(r"\$\{\{.*?\}\}", "EXPR", script)  # GitHub expressions are replaced before bash runs
        done = subprocess.run([bash, "-n"], input=text, capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, f"{script!r}: {done.stderr}"
