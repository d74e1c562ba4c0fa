"""A quick health probe of each component of a running sandbox, in parallel (`magent sandbox status`)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from magent.core.text import counted

PROBE_TIMEOUT_S = 3.0


def probe_all(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Each component of the state file with `healthy` and a short `detail`; skipped ones stay unprobed."""
    components = [dict(c) for c in state.get("components") or [] if isinstance(c, dict)]
    env = state.get("env") or {}
    with ThreadPoolExecutor(max_workers=max(1, len(components))) as pool:
        results = list(pool.map(lambda c: _probe(c, env), components))
    for component, (healthy, detail) in zip(components, results):
        component.update(healthy=healthy, detail=detail)
    return components


def _probe(component: dict[str, Any], env: dict[str, str]) -> tuple[bool, str]:
    url = component.get("url")
    if not url:
        return False, "not started"
    check = _CHECKS.get(str(component.get("name")))
    if check is None:
        return False, "unknown component"
    try:
        return True, check(url, env)
    except Exception as exc:  # any failure is the answer of a health probe, not a crash of `status`
        return False, _reason(exc)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:160]


def _http(url: str, headers: dict[str, str] | None = None) -> str:
    import httpx

    response = httpx.get(url, headers=headers, timeout=PROBE_TIMEOUT_S)
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code} from {url}")
    return f"HTTP 200 in {response.elapsed.total_seconds() * 1000:.0f} ms"


def _mistral(url: str, env: dict[str, str]) -> str:
    return _http(f"{url}/v1/models", {"Authorization": f"Bearer {env.get('MISTRAL_API_KEY', '')}"})


def _aws_client(service: str, url: str, env: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=PROBE_TIMEOUT_S, read_timeout=PROBE_TIMEOUT_S, retries={"max_attempts": 1})
    return boto3.client(
        service, endpoint_url=url, region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"), config=config,
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


def _aws(url: str, env: dict[str, str]) -> str:
    from magent.sandbox.extras import SECRET_ID

    _aws_client("secretsmanager", url, env).describe_secret(SecretId=SECRET_ID)
    return f"secret {SECRET_ID} found"


def _ecs(url: str, env: dict[str, str]) -> str:
    clusters = _aws_client("ecs", url, env).list_clusters()["clusterArns"]
    if not clusters:
        raise RuntimeError("no ECS cluster")
    return counted(len(clusters), "ECS cluster")


def _postgres(url: str, env: dict[str, str]) -> str:
    import psycopg

    with psycopg.connect(url, connect_timeout=int(PROBE_TIMEOUT_S)) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
    return f"Postgres {version}"


_CHECKS: dict[str, Callable[[str, dict[str, str]], str]] = {
    "mistral": _mistral,
    "kubernetes": lambda url, env: _http(f"{url}/healthz"),
    "agent-app": lambda url, env: _http(f"{url}/health"),
    "aws": _aws,
    "ecs": _ecs,
    "prometheus": lambda url, env: _http(f"{url}/-/ready"),
    "postgres": _postgres,
}
