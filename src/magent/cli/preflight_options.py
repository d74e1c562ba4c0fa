"""The options of `magent preflight`, declared once (Typer reads them from these annotations), and their
shell completion."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from magent.cli.flags import complete_deployments

FORMATS = ("table", "json", "yaml", "junit", "sarif", "markdown")


def _complete_formats(incomplete: str) -> list[str]:
    return [name for name in FORMATS if name.startswith(incomplete)]


def _complete_checklists(incomplete: str) -> list[str]:
    from magent.core.checklist import builtin_names

    return [name for name in builtin_names() if name.startswith(incomplete)]


def _complete_selectors(incomplete: str) -> list[str]:
    """Item and section ids of the shipped production checklist (the common case; a file of your own too)."""
    from magent.core.checklist import load_checklist

    try:
        loaded = load_checklist("production")
    except Exception:  # noqa: BLE001 - completion must never fail loudly
        return []
    prefixes = {placed.item.id.split(".")[0] for placed in loaded.items}
    names = [section.id for section in loaded.sections] + sorted(prefixes) + [p.item.id for p in loaded.items]
    return [name for name in names if name.startswith(incomplete)]


def _complete_severities(incomplete: str) -> list[str]:
    return [name for name in ("critical", "warning") if name.startswith(incomplete)]

FORMATS = ("table", "json", "yaml", "junit", "sarif", "markdown")
ChecklistOption = Annotated[Optional[str], typer.Option(
    "--checklist", "-c", metavar="NAME|FILE", show_default=False, autocompletion=_complete_checklists,
    help="A shipped checklist (production, staging) or a YAML file [default: preflight.checklist, production].")]
RepoOption = Annotated[Optional[Path], typer.Option("--repo", metavar="DIR", show_default=False,
    help="The application's repository, for the code checks [default: preflight.repo, else the current directory].")]
ManifestsOption = Annotated[Optional[list[Path]], typer.Option("--manifests", metavar="PATH", show_default=False,
    help="Kubernetes manifests to check offline: a file or a folder (multi-document YAML). Repeatable.")]
DeploymentOption = Annotated[Optional[str], typer.Option("--deployment", "-d", metavar="NAME", show_default=False,
    autocompletion=complete_deployments,
    help="The Deployment to check live through the Kubernetes API.")]
NamespaceOption = Annotated[Optional[str], typer.Option("--namespace", "-n", metavar="NS", show_default=False,
    help="Namespace of --deployment [default: kubernetes.namespace].")]
ModelConfigOption = Annotated[Optional[list[str]], typer.Option("--model-config", metavar="GLOB", show_default=False,
    help="Model configuration files (YAML, JSON, .env, Python), relative to --repo. Repeatable.")]
TestsCmdOption = Annotated[Optional[str], typer.Option("--tests-cmd", metavar="CMD", show_default=False,
    help="The test command (run without a shell, in --repo), e.g. 'pytest -q'.")]
BaselineOption = Annotated[Optional[Path], typer.Option("--baseline", metavar="FILE", show_default=False,
    help="Known key findings to ignore (written by --write-baseline).")]
WriteBaselineOption = Annotated[Optional[Path], typer.Option("--write-baseline", metavar="FILE", show_default=False,
    help="Write the current key findings to FILE as the baseline (holds fingerprints, never keys).")]
VerifyOption = Annotated[bool, typer.Option("--verify",
    help="Check each key found in the repository against the Mistral API (a live key is critical).")]
HealthUrlOption = Annotated[Optional[str], typer.Option("--health-url", metavar="URL", show_default=False,
    help="The application's health endpoint.")]
StagingUrlOption = Annotated[Optional[str], typer.Option("--staging-url", metavar="URL", show_default=False,
    help="The staging health endpoint, checked as well.")]
SecretIdOption = Annotated[Optional[str], typer.Option("--secret-id", metavar="ID", show_default=False,
    help="The Secrets Manager secret that holds the key [default: an aws: key source].")]
KeyFromOption = Annotated[Optional[list[str]], typer.Option("--key-from", metavar="SPEC", show_default=False,
    help="Where the application's key is (as `magent key verify`) [default: mistral.key_from].")]
OnlyOption = Annotated[Optional[list[str]], typer.Option("--only", metavar="ID", show_default=False,
    autocompletion=_complete_selectors,
    help="Run only these items or sections, or every item under a prefix (k8s, aws, code); repeatable or "
         "comma-separated.")]
SkipOption = Annotated[Optional[list[str]], typer.Option("--skip", metavar="ID", show_default=False,
    autocompletion=_complete_selectors,
    help="Leave out these items, sections or prefixes; repeatable or comma-separated.")]
FailOnOption = Annotated[Optional[str], typer.Option("--fail-on", metavar="critical|warning", show_default=False,
    autocompletion=_complete_severities,
    help="The lowest severity whose failure makes the release not ready [default: critical].")]
RequireAttestedOption = Annotated[bool, typer.Option("--require-attested",
    help="Manual items not attested (or whose attestation expired) fail.")]
MaxAgeOption = Annotated[Optional[str], typer.Option("--max-age", metavar="DURATION", show_default=False,
    help="Attestations older than this stop counting [default: 90d].")]
TimeoutOption = Annotated[Optional[str], typer.Option("--timeout", metavar="DURATION", show_default=False,
    help="Time limit of each check [default: 30s; an item may set its own].")]
ReportFormatOption = Annotated[Optional[str], typer.Option("--output", "-o", metavar="FORMAT", show_default=False,
    autocompletion=_complete_formats,
    help="table, json, yaml, junit, sarif or markdown [default: the global -o].")]
OutputFileOption = Annotated[Optional[list[Path]], typer.Option("--output-file", metavar="FILE", show_default=False,
    help="Also write the report to FILE, in the format its extension names (.sarif, .xml = junit, .md, "
         ".json, .yaml). Repeatable.")]
