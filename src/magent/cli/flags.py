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
    import logging
    import warnings
    from contextlib import redirect_stderr

    logging.disable(logging.CRITICAL)
    try:
        with redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except Exception:  # a completion offers nothing rather than break the prompt with a traceback
        pass
    finally:
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
    kubeconfig), as kubectl completes resource names; magent's own canaries are left out."""
    with _quietly():
        from magent.services.kube.lazy_import import install

        install()  # the kubernetes package's initialisers would cost more than the answer
        from magent.core.canary import CANARY_OF_ANNOTATION
        from magent.core.config import load_settings
        from magent.services.kube.client import connect

        settings, _, _ = load_settings(_global_option(ctx, "config"), _global_option(ctx, "profile"))
        with connect(settings.kubernetes, namespace=ctx.params.get("namespace"), context=ctx.params.get("context"),
                     timeout_s=KUBE_COMPLETION_TIMEOUT_S) as kube:
            listing = kube.call(kube.apps.list_namespaced_deployment, kube.namespace)
        metadata = [item.get("metadata") or {} for item in (listing or {}).get("items") or []]
        return sorted(meta["name"] for meta in metadata if meta.get("name", "").startswith(incomplete)
                      and CANARY_OF_ANNOTATION not in (meta.get("annotations") or {}))
    return []


def _global_option(ctx: Any, name: str) -> str | None:
    """--config / --profile as given before the command (root parameters, env included) or after it."""
    from magent.cli.state import get_state

    return ctx.find_root().params.get(name) or getattr(get_state(), "config_path" if name == "config" else name)
