"""Options and habits shared by the commands that act on a cluster (deploy, rollback, status, history)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from magent.cli.flags import complete_deployments
from magent.core.errors import Interrupted
from magent.core.redact import SECRETS

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.services.kube.client import Kube

DeploymentOption = Annotated[
    str, typer.Option("--deployment", "-d", help="The stable Deployment.", show_default=False,
                      autocompletion=complete_deployments)]
NamespaceOption = Annotated[
    Optional[str], typer.Option("--namespace", "-n",
                                help="Namespace [env: MAGENT_NAMESPACE; default: the kubeconfig context's].",
                                show_default=False)]
ContextOption = Annotated[
    Optional[str], typer.Option("--context", help="Kubeconfig context [default: the current one].", show_default=False)]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (CI).")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")]


RequestTimeoutOption = Annotated[
    Optional[str], typer.Option("--request-timeout", metavar="DURATION", show_default=False,
                                help="Give up on an unanswered Kubernetes API request after this long, as kubectl's "
                                     "flag (0: never) [default: kubernetes.request_timeout, else 5s].")]


def open_cluster(state: AppState, namespace: str | None, context: str | None, *,
                 timeout_s: float | None = None) -> Kube:
    from magent.services.kube.client import connect

    return connect(state.settings.kubernetes, namespace=namespace, context=context, timeout_s=timeout_s)


def announce(state: AppState, kube: Kube, what: str) -> None:
    """Say where a destructive action acts, before it acts (stderr, so stdout stays machine-readable).

    A plain write: building a Rich console here would cost a rollback ~50 ms before its request.
    """
    print(SECRETS.mask(f"{what} in {kube.where()}"), file=sys.stderr, flush=True)


def confirm(state: AppState, question: str, *, yes: bool, details: str | None = None) -> None:
    """Ask in a terminal unless --yes; never ask without a terminal (CI proceeds). 'No' exits 130, changing nothing.

    `details`: printed on a line of its own above a short question (a long question wraps mid-word)."""
    if yes or not sys.stdin.isatty():
        return
    if details:
        state.err.print(details, markup=False, highlight=False)
    if not typer.confirm(question, default=False, err=True):
        raise Interrupted("cancelled; nothing was changed")


def confirm_rollback(state: AppState, plan: Any, *, yes: bool) -> None:
    """The rollback plan (what goes back to what, and why) on its own line, then a short question."""
    described = plan.describe()
    if plan.action == "abort-canary":
        question = f"Abort the canary of {plan.deployment}?"
    else:
        question = f"Roll back {plan.deployment} to {', '.join(plan.target_images)}?"
    confirm(state, question, yes=yes, details=described[:1].upper() + described[1:] + ".")

