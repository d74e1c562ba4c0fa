"""`magent preflight`: is this release ready? Every checklist item proved by a check, or attested by a person."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from magent.cli.flags import duration_flag
from magent.cli.preflight_options import (
    FORMATS,
    BaselineOption,
    ChecklistOption,
    DeploymentOption,
    FailOnOption,
    HealthUrlOption,
    KeyFromOption,
    ManifestsOption,
    MaxAgeOption,
    ModelConfigOption,
    NamespaceOption,
    OnlyOption,
    OutputFileOption,
    RepoOption,
    ReportFormatOption,
    RequireAttestedOption,
    SecretIdOption,
    SkipOption,
    StagingUrlOption,
    TestsCmdOption,
    TimeoutOption,
    VerifyOption,
    WriteBaselineOption,
)
from magent.cli.state import OutputOption, get_state
from magent.core.errors import UsageError
from magent.core.text import counted

if TYPE_CHECKING:
    from magent.checks import PreflightOptions
    from magent.cli.state import AppState
    from magent.core.checklist import Checklist

PREFLIGHT_HELP = """Is this release ready? Run the production checklist: every item proved by a check.

Runs the checklist's checks side by side, each with a timeout: the key is valid and paid and lives in a
vault, no key is hard-coded in the repository, the Deployment (live with -d, or --manifests offline) has
probes, resources, a pinned image, replicas, a PDB and its key from a Secret, the health endpoint reports
Mistral, the canary analysis backends answer, the runbooks exist, and more (`magent preflight checks`).
Manual items count once attested (`magent preflight attest`). Inputs a check needs but did not get make
it `skip`, with the flag that would enable it; set them once under `preflight:` in magent.yaml.

Statuses: ✓ pass · ✗ fail · ! warn or error (could not run) · – skip (does not apply) · ? manual.

Exit codes: 0 ready; 1 not ready (an item at or above --fail-on failed, or could not be checked);
2 bad checklist or options; 3 a system a blocking item needs was unreachable.

\b
Examples:
  magent preflight --repo . -d agent -n shop --health-url https://agent.example.com/health
  magent preflight --manifests k8s/ --only secrets --only code.no-hardcoded-key -o sarif > preflight.sarif
  magent preflight --checklist staging --fail-on warning --output-file junit.xml
  magent preflight attest oncall.rotation --by alice --note "PagerDuty schedule 'agent' through Jan"
"""

preflight_app = typer.Typer(name="preflight", help=PREFLIGHT_HELP, invoke_without_command=True,
                            rich_markup_mode=None, subcommand_metavar="[attest ITEM | checks]")


_EXTENSIONS = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".xml": "junit", ".sarif": "sarif",
               ".md": "markdown", ".markdown": "markdown"}


@preflight_app.callback()
def preflight(
    ctx: typer.Context,
    checklist: ChecklistOption = None,
    repo: RepoOption = None,
    manifests: ManifestsOption = None,
    deployment: DeploymentOption = None,
    namespace: NamespaceOption = None,
    model_config: ModelConfigOption = None,
    tests_cmd: TestsCmdOption = None,
    baseline: BaselineOption = None,
    write_baseline: WriteBaselineOption = None,
    verify: VerifyOption = False,
    health_url: HealthUrlOption = None,
    staging_url: StagingUrlOption = None,
    secret_id: SecretIdOption = None,
    key_from: KeyFromOption = None,
    only: OnlyOption = None,
    skip: SkipOption = None,
    fail_on: FailOnOption = None,
    require_attested: RequireAttestedOption = False,
    max_age: MaxAgeOption = None,
    timeout: TimeoutOption = None,
    output: ReportFormatOption = None,
    output_file: OutputFileOption = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from magent.cli.preflight_view import render_outputs
    from magent.workflows.preflight import RunOptions, run_preflight

    state = get_state()
    fmt = _format(output or state.output.value)
    files = [(path, _file_format(path)) for path in output_file or []]
    config = state.settings.preflight
    loaded = _load(checklist or config.checklist)
    options = _options(state, repo=repo, manifests=manifests, deployment=deployment, namespace=namespace,
                       model_config=model_config, tests_cmd=tests_cmd, baseline=baseline, verify=verify,
                       health_url=health_url, staging_url=staging_url, secret_id=secret_id, key_from=key_from,
                       timeout=timeout)
    run = RunOptions(fail_on=_fail_on(fail_on or config.fail_on), require_attested=require_attested,
                     max_age_s=duration_flag("--max-age", max_age) if max_age else config.max_age,
                     only=_selectors(loaded, only), skip=_selectors(loaded, skip))
    from magent.checks import CheckContext

    context = CheckContext(state.settings, options)
    if write_baseline:  # first, so that this run already reads the new baseline
        _write_baseline(state, context, loaded, write_baseline)
        options.baseline = write_baseline
    elif options.baseline:
        from magent.services.repo import load_baseline

        load_baseline(options.baseline)  # a bad baseline is a bad option (exit 2), not an item that errs
    attestations = _attestations(state, loaded)
    with _progress(state, len(loaded.items)) as on_result:
        report = run_preflight(loaded, context, run, attestations=attestations, on_result=on_result)
    report.context = _described(options, state)
    render_outputs(state, report, fmt, files)
    raise typer.Exit(report.exit_code)


@preflight_app.command("attest")
def attest(
    item: Annotated[str, typer.Argument(metavar="ITEM", help="The id of a manual item, e.g. oncall.rotation.")],
    by: Annotated[str, typer.Option("--by", metavar="NAME", help="Who attests (a name or handle).")],
    note: Annotated[str, typer.Option("--note", metavar="TEXT", help="What was checked, where to see it.")] = "",
    checklist: ChecklistOption = None,
) -> None:
    """Record that a manual item holds: who, when (UTC), a note, and the item's definition it was made for.

    The attestation counts in later runs of the same checklist until the item's definition changes or it
    grows older than --max-age (default 90 days). Stored in the store (MAGENT_DATABASE_URL, or the embedded
    Postgres, created if needed).

    \b
    Example:
      magent preflight attest oncall.rotation --by alice --note "PagerDuty schedule 'agent' through Jan"
    """
    from magent.core.timeutil import isoformat
    from magent.services.store import open_store
    from magent.services.store.attestations import record

    state = get_state()
    loaded = _load(checklist or state.settings.preflight.checklist)
    placed = loaded.find(item)
    if placed is None:
        manual = ", ".join(p.item.id for p in loaded.items if p.item.manual) or "none"
        raise UsageError(f"no item {item!r} in checklist {loaded.name}", hint=f"manual items: {manual}")
    if not placed.item.manual:
        raise UsageError(f"{item} is proved by the check {placed.item.check}, not attested",
                         hint="only items with `check: manual` take an attestation")
    if not by.strip():
        raise UsageError("--by is empty", hint="name who attests, e.g. --by alice")
    store = open_store(state.settings.store)
    done = record(store, checklist=loaded.name, item_id=item, item_hash=placed.item.definition_hash(),
                  checklist_sha256=loaded.sha256, attested_by=by.strip(), note=note.strip())
    state.err.print(f"Attested {item} ({placed.item.title}) by {done.attested_by} at "
                    f"{isoformat(done.attested_at.replace(microsecond=0))} in {store.description}",
                    markup=False, highlight=False, soft_wrap=True)


@preflight_app.command("checks")
def checks(output: OutputOption = None) -> None:
    """List the check types a checklist can use, with what each proves."""
    from magent.checks import load_builtin_checks
    from magent.cli.render import emit, simple_table

    state = get_state()
    found = load_builtin_checks()
    rows = [(name, found[name].summary, _params_of(found[name])) for name in sorted(found)]
    rows.append(("manual", "A person attests the item (magent preflight attest).", ""))
    data = [{"type": name, "summary": summary, "params": params} for name, summary, params in rows]
    if not sys.stdout.isatty():
        state.out.width = max(state.out.width, 240)  # piped: one check per line, never folded
    emit(state, state.output_format(output), data, table=lambda: simple_table(None, ["type", "proves", "params"], rows))


def register(app: typer.Typer) -> None:
    app.add_typer(preflight_app, name="preflight")


def _params_of(check) -> str:
    if check.params is None:
        return ""
    shown = []
    for name, field in check.params.model_fields.items():
        if field.is_required():
            shown.append(name)
        else:
            shown.append(f"{name}={field.get_default(call_default_factory=True)!r}")
    return ", ".join(shown)


def _format(value: str) -> str:
    if value not in FORMATS:
        raise UsageError(f"unknown output format {value!r}", hint=f"use one of: {', '.join(FORMATS)}")
    return value


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _EXTENSIONS or _EXTENSIONS[suffix] == "table":
        raise UsageError(f"--output-file {path}: cannot tell the format from {suffix or 'no extension'!r}",
                         hint="end the name with .sarif, .xml (junit), .md, .json or .yaml")
    return _EXTENSIONS[suffix]


def _fail_on(value: str) -> str:
    if value not in ("critical", "warning"):
        raise UsageError(f"--fail-on {value!r}: use critical or warning",
                         hint="critical: only critical failures block; warning: warnings block too")
    return value


def _load(spec: str) -> Checklist:
    from magent.checks import validate_item
    from magent.core.checklist import load_checklist

    return load_checklist(spec, validate_check=validate_item)


def _selectors(loaded: Checklist, values: list[str] | None) -> list[str]:
    from magent.workflows.preflight import unknown_selectors

    names = [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
    unknown = unknown_selectors(loaded, names)
    if unknown:
        from difflib import get_close_matches

        known = [p.item.id for p in loaded.items] + [s.id for s in loaded.sections]
        close = get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"items and sections of {loaded.name}: " + ", ".join(known)
        raise UsageError(f"no item or section {unknown[0]!r} in checklist {loaded.name}", hint=hint)
    return names


def _options(state: AppState, *, repo, manifests, deployment, namespace, model_config, tests_cmd, baseline,
             verify, health_url, staging_url, secret_id, key_from, timeout) -> PreflightOptions:
    from magent.checks import PreflightOptions

    config = state.settings.preflight
    repo_dir = repo or Path(config.repo or ".")
    if not repo_dir.is_dir():
        raise UsageError(f"--repo {repo_dir}: not a directory", hint="pass the application's repository root")
    paths = list(manifests or []) or [Path(p) for p in config.manifests]
    for path in paths:
        if not path.exists():
            raise UsageError(f"--manifests {path}: no such file or folder", hint="pass a YAML file or a folder of them")
    base = Path(config.baseline) if config.baseline else None
    return PreflightOptions(
        repo=repo_dir.resolve(), manifests=paths, deployment=deployment or config.deployment,
        namespace=namespace, model_config=list(model_config or config.model_config_globs),
        tests_cmd=tests_cmd or config.tests_cmd, baseline=baseline or base, verify_keys=verify,
        health_url=health_url or config.health_url, staging_url=staging_url or config.staging_url,
        secret_id=secret_id or config.secret_id, key_from=list(key_from or []),
        timeout_s=duration_flag("--timeout", timeout) if timeout else config.timeout)


def _attestations(state: AppState, loaded: Checklist):
    """Attestations from the store when one is configured; None (and manual items stay manual) otherwise."""
    if not any(placed.item.manual for placed in loaded.items):
        return None
    from magent.core.errors import MagentError
    from magent.workflows.deploy.audit import store_configured

    if not store_configured(state.settings):
        return None
    from magent.services.store import open_store
    from magent.services.store.attestations import latest

    try:
        return latest(open_store(state.settings.store), loaded.name)
    except MagentError as exc:
        state.err.print(f"Warning: attestations not read ({exc.message}): manual items show as manual",
                        markup=False, highlight=False)
        return None


def _described(options: PreflightOptions, state: AppState) -> dict:
    return {"repo": str(options.repo) if options.repo else None,
            "manifests": [str(p) for p in options.manifests], "deployment": options.deployment,
            "namespace": options.namespace or state.settings.kubernetes.namespace if options.deployment else None,
            "health_url": _masked_url(options.health_url), "profile": state.profile_name}


def _masked_url(url: str | None) -> str | None:
    from magent.core.redact import mask_url

    return mask_url(url) if url else None


def _progress(state: AppState, total: int):
    from magent.cli.preflight_view import progress

    return progress(state, total)


def _write_baseline(state: AppState, context, loaded: Checklist, path: Path) -> None:
    """Today's key findings (all of them, before any baseline) become the baseline: fingerprints, never keys."""
    from magent.checks.code_no_hardcoded_key import scan_findings
    from magent.services.repo import write_baseline

    placed = next((p for p in loaded.items if p.item.check == "code.no-hardcoded-key"), None)
    item_context = context.for_item(placed.item) if placed else context
    findings = scan_findings(item_context)
    try:
        write_baseline(path, findings)
    except OSError as exc:
        raise UsageError(f"--write-baseline {path}: {exc.strerror}", hint="pick a writable path") from None
    state.err.print(f"Wrote {counted(len(findings), 'finding')} to the baseline {path}", markup=False, highlight=False,
                    soft_wrap=True)
