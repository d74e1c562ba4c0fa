"""What every analysis provider shares: one TLS context and the INCONCLUSIVE result of a provider that could not look.

A leaf module: providers import it, the package imports the providers, nothing imports back.
"""

from __future__ import annotations

import functools
from typing import Any

from magent.core.judge import MetricResult, Verdict
from magent.core.redact import one_line


@functools.lru_cache(maxsize=1)
def ssl_context() -> Any:
    """One TLS context for every analysis HTTP client: httpx builds (and reads the CA bundle for) one per client
    otherwise, ~100 ms each time, which an analysis every few seconds cannot afford."""
    import httpx

    return httpx.create_ssl_context()


def unavailable(provider: str, reason: str, name: str = "available") -> MetricResult:
    """The INCONCLUSIVE result of a provider that could not look."""
    return MetricResult(provider, name, None, "answers", Verdict.INCONCLUSIVE, one_line(reason))
