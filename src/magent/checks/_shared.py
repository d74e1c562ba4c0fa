"""Resources several checks share, built once per run through `CheckContext.once`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from magent.checks import CheckContext
    from magent.services.keys import ResolvedKey
    from magent.services.kube.client import Kube


def kube(ctx: CheckContext) -> Kube:
    """One Kubernetes connection for the run (namespace from -n, else kubernetes.namespace)."""
    def build() -> Any:
        from magent.services.kube.client import connect

        connection = connect(ctx.settings.kubernetes, namespace=ctx.options.namespace)
        ctx.shared.closers.append(connection.close)
        return connection

    return ctx.once("kube", build)


def api_key(ctx: CheckContext) -> ResolvedKey:
    """The application's Mistral key: the first of --key-from / mistral.key_from, resolved once."""
    def build() -> Any:
        from magent.services.keys import resolve_mistral_keys

        return resolve_mistral_keys(ctx.settings, ctx.options.key_from, first_only=True)[0]

    return ctx.once("api_key", build)


def mistral_url(ctx: CheckContext) -> str:
    from magent.services.mistral.client import normalize_base_url

    return normalize_base_url(ctx.settings.mistral.base_url)
