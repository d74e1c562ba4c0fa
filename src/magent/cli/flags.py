"""Flag values that several commands parse the same way."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from magent.core.errors import UsageError


def duration_flag(flag: str, text: str, *, allow_zero: bool = False) -> float:
    """Seconds from a flag such as `--timeout 30s`; a UsageError (exit 2) naming the flag when it is not a
    duration or not above zero (`allow_zero`: kubectl's `--request-timeout 0`, no timeout)."""
    from magent.core.timeutil import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {text!r}: {exc}", hint="durations look like 30s, 5m, 1h30m, 90d") from None
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise UsageError(f"{flag} {text!r}: must be more than zero", hint="durations look like 30s, 5m, 1h30m, 90d")
    return seconds


# --- completion of flag values -------------------------------------------------------------------------------
# Called by the shell at each <TAB>: light imports only, never a traceback or a line of stderr in the prompt,
# nothing rather than a wait (a cluster gets KUBE_COMPLETION_TIMEOUT_S, as kubectl's own completion would).

USAGE_DIMENSIONS = ("model", "agent", "day", "conversation")  # core.cost.DIMENSIONS (a test keeps them equal)
KUBE_COMPLETION_TIMEOUT_S = 1.5


@contextmanager
def _quietly() -> Iterator[None]:
    """Swallow any failure and any stray output of a completion callback (the caller then returns [])."""
    import io
    import sys
    import warnings
    from contextlib import redirect_stderr

    logging = sys.modules.get("logging")  # silenced if loaded; not loaded for this (it costs a <TAB> 3 ms)
    if logging:
        logging.disable(logging.CRITICAL)
    try:
        with redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except Exception:  # a completion offers nothing rather than break the prompt with a traceback
        pass
    finally:
        if logging:
            logging.disable(logging.NOTSET)


def complete_dimensions(incomplete: str) -> list[str]:
    """`--by model,d<TAB>` → `model,day`: the dimensions not yet in the comma-separated list."""
    done, comma, last = incomplete.rpartition(",")
    chosen = {part.strip().lower() for part in done.split(",")}
    return [f"{done}{comma}{dim}" for dim in USAGE_DIMENSIONS if dim.startswith(last.lower()) and dim not in chosen]


def complete_profiles(ctx: Any, incomplete: str) -> list[str]:
    """`--profile <TAB>`: the profiles of the magent.yaml in effect (--config, MAGENT_CONFIG, ./, ~/.config)."""
    with _quietly():
        from magent.core.config_file import find_config_file
        from magent.core.config_yaml import parse_config_yaml

        path = find_config_file(_global_option(ctx, "config"), os.environ)
        document = parse_config_yaml(path.read_bytes(), str(path))[0] if path else None
        profiles = document.get("profiles") if isinstance(document, dict) else None
        if isinstance(profiles, dict):
            return sorted(name for name in profiles if isinstance(name, str) and name.startswith(incomplete))
    return []


def complete_deployments(ctx: Any, incomplete: str) -> list[str]:
    """`-d <TAB>`: the Deployments of the namespace and context the command would use (-n, --context, profile,
    kubeconfig), as kubectl completes resource names; magent's own canaries are left out. One light request
    (services.kube_names), not the kubernetes package: the shell waits for this at every <TAB>."""
    context = ctx.params.get("context")
    context = context[0] if isinstance(context, (list, tuple)) and context else context  # waves: the first cluster
    return names_of_deployments(incomplete, namespace=ctx.params.get("namespace"), context=context or None,
                                config=_global_option(ctx, "config"), profile=_global_option(ctx, "profile"))


def names_of_deployments(incomplete: str, *, namespace: str | None, context: str | None, config: str | None,
                         profile: str | None) -> list[str]:
    """The names, or none at all on any failure (within KUBE_COMPLETION_TIMEOUT_S)."""
    with _quietly():
        from magent.services.kube_names import deployment_names

        return deployment_names(incomplete, namespace=namespace, context=context, config=config, profile=profile,
                                env=os.environ, timeout_s=KUBE_COMPLETION_TIMEOUT_S)
    return []


def _global_option(ctx: Any, name: str) -> str | None:
    """--config / --profile as given before the command (root parameters, env included) or after it."""
    from magent.cli.state import get_state

    return ctx.find_root().params.get(name) or getattr(get_state(), "config_path" if name == "config" else name)
