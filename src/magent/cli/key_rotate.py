"""`magent key rotate`: parse, build the adapters, run `magent.workflows.rotate`, render."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from magent.cli.cluster import ContextOption, DryRunOption, NamespaceOption, YesOption
from magent.cli.flags import complete_deployments
from magent.cli.state import OutputOption
from magent.core.redact import SECRETS

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.core.rotation import SecretRef
    from magent.workflows.rotate import Adapters, RotationPlan

ROTATE_HELP = """Rotate the Mistral API key stored in AWS Secrets Manager, and restart the app that reads it.

Mistral keys cannot be created through an API: create the new key in console.mistral.ai, make it
readable by magent (--new-key-from env:VAR or file:PATH, never on the command line), and magent runs
the AWS rotation protocol: put it as the AWSPENDING version → verify it against the Mistral API (as
`key verify` does) → move AWSCURRENT to it (AWSPREVIOUS follows to the old key) → restart
--deployment (as `kubectl rollout restart`) → wait for the rollout (as `rollout status`) and for
--health-url, whose body must report Mistral ok when it reports Mistral. AWSPENDING is then removed.

Any failure puts everything back: AWSCURRENT (and AWSPREVIOUS) on their old versions, AWSPENDING off
the new one, and a second restart if the Deployment was restarted. The state left is printed.
A JSON secret keeps its other fields: name the key's field with --secret-id NAME#field.
Secrets are always read by stage (VersionStage=AWSCURRENT). Keys are never printed: fingerprints only.
Last step, by hand: revoke the old key in the Mistral console.

Exit codes: 0 rotated; 1 the new key was refused, or the app did not come back healthy (everything
rolled back); 2 bad input; 3 AWS, Kubernetes or Mistral unreachable or refusing credentials (nothing
left changed); 4 the rollback itself failed: the state and the commands to finish are printed;
130 interrupted (rolled back) or declined at the prompt.

\b
Examples:
  magent key rotate --secret-id prod/mistral#api_key --new-key-from env:NEW_MISTRAL_KEY -d agent -n prod \\
      --health-url https://agent.example.com/health
  magent key rotate --secret-id prod/mistral --new-key-from file:new.key --dry-run
  magent key rotate --secret-id prod/mistral#api_key --new-key-from env:NEW_KEY -d agent --yes -o json
"""

_REVOKE = ("Last step, by hand: revoke the old key {fp} in the Mistral console (console.mistral.ai → API Keys); "
           "Mistral has no API for it.")


def rotate(
    secret_id: Annotated[str, typer.Option("--secret-id", metavar="ID[#FIELD]", show_default=False,
                                           help="The Secrets Manager secret (name or ARN); #FIELD for a JSON secret.")],
    new_key_from: Annotated[str, typer.Option("--new-key-from", metavar="SPEC", show_default=False,
                                              help="Where the new key is: env:VAR, file:PATH[#field], "
                                                   "aws:SECRET_ID[#field], k8s:NAMESPACE/SECRET[#KEY].")],
    deployment: Annotated[Optional[str], typer.Option(
        "--deployment", "-d", show_default=False, autocompletion=complete_deployments,
        help="The Deployment whose pods read the secret: restarted, rollout awaited.")] = None,
    namespace: NamespaceOption = None,
    context: ContextOption = None,
    health_url: Annotated[Optional[str], typer.Option(
        "--health-url", metavar="URL", show_default=False,
        help="The app's health endpoint, awaited after the restart [default: preflight.health_url].")] = None,
    rollout_timeout: Annotated[Optional[str], typer.Option(
        metavar="DURATION", show_default=False,
        help="Longest wait for the rollout, e.g. 5m [default: deploy.rollout_timeout, 10m].")] = None,
    health_timeout: Annotated[str, typer.Option(metavar="DURATION",
                                                help="Longest wait for the health endpoint.")] = "2m",
    base_url: Annotated[Optional[str], typer.Option(
        "--base-url", metavar="URL", show_default=False,
        help="Mistral API base URL [env: MAGENT_MISTRAL_URL; default: https://api.mistral.ai].")] = None,
    no_spend: Annotated[bool, typer.Option("--no-spend", help="Verify without the 1-token chat completion.")] = False,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    output: OutputOption = None,
) -> None:
    from magent.cli.cluster import confirm
    from magent.cli.state import get_state
    from magent.core.rotation import parse_secret_ref
    from magent.workflows.rotate import prepare

    state = get_state()
    fmt = state.output_format(output)
    ref = parse_secret_ref(secret_id)  # every flag is checked before any secret is read
    timeouts = _durations(state, rollout_timeout, health_timeout)
    url = _health_url(health_url or state.settings.preflight.health_url)
    _check_target(deployment, namespace, context)
    new_key = _new_key(state, new_key_from)
    adapters = _adapters(state, ref, deployment, namespace, context, url, timeouts, base_url, not no_spend,
                         new_key_from)
    plan = prepare(adapters, ref, new_key, new_key_from=new_key_from,
                   health_url=adapters.health.url if adapters.health else None)
    if dry_run:
        _say("Dry run: nothing is changed.")
        _emit(state, fmt, {"outcome": "planned", "dry_run": True, **plan.to_dict()})
        return
    _announce(state, plan, adapters)
    confirm(state, f"Stage key {plan.new_fingerprint} as AWSPENDING, verify it, make it AWSCURRENT in place of "
                   f"{plan.old_fingerprint}" + (f" and restart deployment {plan.deployment}" if plan.deployment else "")
                   + "?", yes=yes)
    _run(state, fmt, adapters, plan)


def _run(state: AppState, fmt: Any, adapters: Adapters, plan: RotationPlan) -> None:
    from magent.workflows.rotate import Rotation, RotationFailed

    view = _Lines()
    try:
        result = Rotation(adapters, plan, on_event=view).run()
    except RotationFailed as exc:
        _record(state, plan, view.events, exc.result)
        _emit(state, fmt, exc.result)
        _say("State now:")
        for line in exc.result.get("state", []):
            _say(f"  - {line}")
        if exc.result.get("fix"):
            _say("To finish by hand, run:")
        for command in exc.result.get("fix", []):
            _say(f"  {command}")
        raise
    _record(state, plan, view.events, result)
    _emit(state, fmt, result)
    _say(_REVOKE.format(fp=plan.old_fingerprint))


def _say(text: str) -> None:
    print(SECRETS.mask(text), file=sys.stderr, flush=True)


class _Lines:
    """Each workflow event as one UTC-stamped line on stderr (CI logs, pipes and terminals alike)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        self.events.append(record)
        _say(f"{record['at']} key rotate: {record['message']}")


def _new_key(state: AppState, spec: str) -> str:
    from magent.core.errors import UsageError
    from magent.services.keys import context_for, parse_key_source, resolve_key

    try:
        source = parse_key_source(spec)
    except UsageError as exc:
        raise UsageError(exc.message.replace("--key-from", "--new-key-from"), hint=exc.hint) from None
    resolved = resolve_key(source, context_for(state.settings))
    for warning in resolved.warnings:
        _say(f"Warning: the new key from {source}: {warning}")
    return resolved.key


def _health_url(url: str | None) -> str | None:
    from magent.core.errors import UsageError
    from magent.core.redact import mask_url

    if url is None or not url.strip():
        return None
    if not url.strip().lower().startswith(("http://", "https://")):
        raise UsageError(f"--health-url {mask_url(url)!r} is not an http(s) URL",
                         hint="pass --health-url https://HOST/health")
    return url.strip()


def _durations(state: AppState, rollout: str | None, health: str) -> tuple[float, float]:
    from magent.cli.flags import duration_flag

    rollout_s = state.settings.deploy.rollout_timeout if rollout is None else duration_flag("--rollout-timeout", rollout)
    return rollout_s, duration_flag("--health-timeout", health)


def _check_target(deployment: str | None, namespace: str | None, context: str | None) -> None:
    from magent.core.errors import UsageError

    if deployment is not None and not deployment.strip():
        raise UsageError("--deployment is empty", hint="pass --deployment NAME, or leave it out to restart nothing")
    if deployment is None and (namespace or context):
        raise UsageError("-n/--context without --deployment", hint="pass --deployment NAME to restart it")


def _adapters(state: AppState, ref: SecretRef, deployment: str | None, namespace: str | None, context: str | None,
              health_url: str | None, timeouts: tuple[float, float], base_url: str | None, spend: bool,
              source: str) -> Adapters:
    from magent.services.aws.versions import SecretVersions
    from magent.services.mistral.client import normalize_base_url
    from magent.services.mistral.verify import key_verifier
    from magent.workflows.rotate import Adapters

    aws, mistral = state.settings.aws, state.settings.mistral
    restarter = health = None
    if deployment:
        from magent.cli.cluster import open_cluster
        from magent.services.kube.restart import Restarter

        restarter = Restarter(open_cluster(state, namespace, context), deployment.strip(), timeout_s=timeouts[0])
    if health_url:
        from magent.services.app_health import HealthEndpoint

        health = HealthEndpoint(health_url, timeout_s=timeouts[1])
    verify = key_verifier(normalize_base_url(base_url or mistral.base_url), models=list(mistral.models),
                          spend=spend, timeout_s=mistral.timeout,
                          intentional_aliases=list(mistral.intentional_aliases), source=source)
    secrets = SecretVersions(ref.secret_id, region=aws.region, endpoint_url=aws.endpoint_url)
    return Adapters(secrets=secrets, verify=verify, restarter=restarter, health=health)


def _announce(state: AppState, plan: RotationPlan, adapters: Adapters) -> None:
    """Where the rotation acts, before it acts (stderr): the secret and its AWS endpoint, the cluster."""
    from magent.cli.cluster import announce
    from magent.core.redact import mask_url

    aws = state.settings.aws
    where = f"AWS {aws.region or 'default region'}" + (f" at {mask_url(aws.endpoint_url)}" if aws.endpoint_url else "")
    _say(f"Rotating the Mistral key in secret {plan.ref.spec} ({where}): "
         f"{plan.old_fingerprint} → {plan.new_fingerprint}")
    for warning in plan.warnings:
        _say(f"Warning: {warning}")
    if adapters.restarter is not None:
        announce(state, adapters.restarter.kube, f"Restarting deployment {plan.deployment}")
    else:
        _say("No --deployment: nothing is restarted (apps that read the secret at start keep the old key until then)")


def _emit(state: AppState, fmt: Any, data: dict[str, Any]) -> None:
    from magent.cli.render import emit

    if not sys.stdout.isatty():
        state.out.width = 1000  # piped: never fold a version id or a message (the table is as wide as its text)
    emit(state, fmt, data, table=lambda: _table(data))


def _table(data: dict[str, Any]) -> Any:
    from rich.console import Group

    from magent.cli.deploy_view import kv_table
    from magent.cli.render import simple_table

    versions = data["versions"]
    target = (f"{data['namespace']}/{data['deployment']} (context {data.get('context') or '(in-cluster)'})"
              if data.get("deployment") else "none (not restarted)")
    secret = data["secret_id"] + (f"#{data['field']}" if data["field"] else "")
    rows = [("outcome", data["outcome"]), ("secret", secret),
            ("new key", f"{data['new_key']} from {data['new_key_from']}, {_new_version(data)}"),
            ("old key", f"{data['old_key']}, version {versions['old']}"), ("deployment", target),
            ("health", data.get("health") or data.get("health_url") or "not checked (no --health-url)")]
    rows += [("warning", warning) for warning in data.get("warnings", [])]
    rows += [("state", line) for line in data.get("state", [])]
    parts: list[Any] = [kv_table(None, rows)]
    steps = data["steps"]
    if steps and isinstance(steps[0], dict):
        parts.append(simple_table("steps", ["step", "status", "at", "detail"],
                                  [(s["step"], s["status"], s["at"], s["detail"]) for s in steps]))
    else:
        parts.append(f"steps: {' → '.join(steps)}")
    if data.get("fix"):
        parts.append("to finish by hand:\n" + "\n".join(f"  {command}" for command in data["fix"]))
    return Group(*parts)


def _new_version(data: dict[str, Any]) -> str:
    # a dry run's request token is drawn afresh by the real run: showing it would name a version that never exists
    if data["outcome"] == "planned":
        return "new version (its id is set when the rotation runs)"
    return f"version {data['versions']['new']}"


def _record(state: AppState, plan: RotationPlan, events: list[dict[str, Any]], result: dict[str, Any]) -> None:
    """The store's audit trail (the deployments / deployment_events tables) and the webhook: best effort."""
    from magent.core.timeutil import isoformat, utcnow
    from magent.services.targets.lock import identity
    from magent.workflows.deploy.audit import AuditTrail, DeploymentRecord

    record = DeploymentRecord(plan.namespace or "", plan.deployment or "",
                              f"mistral-key {plan.new_fingerprint} ({plan.ref.spec} {plan.token})",
                              f"mistral-key {plan.old_fingerprint} ({plan.ref.spec} {plan.old_version})",
                              identity(), events[0]["at"] if events else isoformat(utcnow()),
                              context=result.get("context"))
    audit = AuditTrail(state.settings, record,
                       notify_kinds=frozenset({"key_rotated", "key_rolled_back", "key_rollback_failed"}))
    for item in events:
        audit.event(item)
    outcome = result["outcome"]
    audit.finish(f"key_{outcome}", result.get("cause"), isoformat(utcnow()))
    audit.close(timeout_s=2.0)
