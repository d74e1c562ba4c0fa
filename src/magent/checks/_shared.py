"""Resources several checks share, built once per run through `CheckContext.once`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magent.core.errors import UsageError

if TYPE_CHECKING:
    from magent.checks import CheckContext
    from magent.core.keysource import ResolvedKey
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
        from magent.core.keysource import ResolveContext, resolve_all

        specs = ctx.options.key_from or ctx.settings.mistral.key_from
        if not specs:
            raise UsageError("no key source", hint="pass --key-from (or set mistral.key_from)")
        aws = ctx.settings.aws
        context = ResolveContext(aws_region=aws.region, aws_endpoint_url=aws.endpoint_url,
                                 kube_context=ctx.settings.kubernetes.context)
        return resolve_all([specs[0]], context)[0]

    return ctx.once("api_key", build)


def mistral_url(ctx: CheckContext) -> str:
    from magent.services.mistral.client import normalize_base_url

    return normalize_base_url(ctx.settings.mistral.base_url)
