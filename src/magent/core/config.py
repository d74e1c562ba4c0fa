"""Configuration: magent.yaml profiles + environment + flags, validated with pydantic.

Precedence: flags > environment (MAGENT_*, MISTRAL_API_KEY, KUBECONFIG, AWS_*, MAGENT_DATABASE_URL)
> the chosen profile of magent.yaml > the file's top level > defaults.

    # magent.yaml
    default_profile: staging
    mistral:
      models: [mistral-small-2506]
    profiles:
      staging:
        mistral: {key_from: ["env:MISTRAL_API_KEY"]}
      production:
        mistral: {key_from: ["aws:prod/mistral#api_key"]}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from magent.core.config_file import find_config_file
from magent.core.config_yaml import parse_config_yaml
from magent.core.errors import ConfigError
from magent.core.export_job import IMAGE_REPOSITORY, check_namespace, check_quantity, parse_secret_ref
from magent.core.redact import register_secrets_in
from magent.core.timeutil import human_duration, parse_duration

DEFAULT_PROFILE = "default"
DEFAULT_MISTRAL_URL = "https://api.mistral.ai"
# Each analysis queries the cluster and every metrics backend; faster than once a second only floods them.
MIN_INTERVAL_S = 1.0


def check_interval(seconds: float) -> float:
    """The analysis interval, or ValueError when it is below MIN_INTERVAL_S (shared by magent.yaml and --interval)."""
    if seconds < MIN_INTERVAL_S:
        raise ValueError(f"must be at least {MIN_INTERVAL_S:g}s, not {human_duration(seconds)}: each analysis "
                         f"queries the cluster and every metrics backend")
    return seconds


class _Section(BaseModel):
    # allow_inf_nan=False: `.nan` / `.inf` in YAML are floats to pydantic, and pass every gt/ge/lt bound.
    # defer_build: a section's own validator is built the first time it validates alone (rare: Settings' validator
    # holds all of them), not at import; defaults are made with `model_construct`, which needs none.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


class MistralSettings(_Section):
    base_url: str = DEFAULT_MISTRAL_URL
    key_from: list[str] = Field(default_factory=lambda: ["env:MISTRAL_API_KEY"])
    models: list[str] = Field(default_factory=list, description="models the application uses")
    intentional_aliases: list[str] = Field(
        default_factory=list, description="'-latest' aliases used on purpose (no warning)"
    )
    timeout: float = Field(default=30.0, gt=0)


class AwsSettings(_Section):
    region: str | None = None
    endpoint_url: str | None = None


class KubeSettings(_Section):
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str = "default"
    # kubectl's --request-timeout: each API request, retries included; None: the command's own default, 0: none
    request_timeout: float | None = None

    @field_validator("request_timeout", mode="before")
    @classmethod
    def _request_timeout(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)


class StoreSettings(_Section):
    database_url: str | None = None
    data_dir: str | None = None


class NotifySettings(_Section):
    webhook_url: str | None = None


class EcsDeploySettings(_Section):
    """`deploy.target: ecs`: the service, and the ALB listener and canary target group (discovered when unset:
    the listener forwarding to the service's target group, the other group of its forward action)."""

    cluster: str | None = None
    service: str | None = None
    listener_arn: str | None = None
    rule_arn: str | None = None
    canary_target_group: str | None = None
    alb_metrics: bool = Field(default=True, description="judge the canary target group's 5xx share and latency")
    max_5xx_ratio: float = Field(default=0.05, ge=0, le=1)
    min_requests: int = Field(default=20, ge=1, le=1_000_000)
    latency_stat: str = Field(default="p95", pattern=r"^(Average|Maximum|Minimum|p\d{1,2}(\.\d+)?)$")


class WaveSettings(_Section):
    """One cluster of a release deployed in waves: a kubeconfig context, and its namespace if not the default."""

    context: str = Field(min_length=1)
    namespace: str | None = None


class DeploySettings(_Section):
    """`magent deploy` / `magent rollback`: canary steps (percent), pause per step, analysis interval and limits."""

    steps: list[int] = Field(default_factory=lambda: [10, 50])
    pause: float = Field(default=300.0, ge=0)
    interval: float = 30.0
    max_inconclusive: int = Field(default=3, ge=1)
    max_restarts: int = Field(default=0, ge=0, description="canary container restarts tolerated (in total)")
    lease_duration: float = Field(default=60.0, ge=5, description="a deploy lock not renewed for this long may be taken over")
    rollout_timeout: float = Field(default=600.0, gt=0, description="longest wait for the stable rollout (promote, rollback)")
    api_retry_window: float = Field(
        default=30.0, ge=0, le=3600,
        description="how long a deploy retries an unreachable Kubernetes API before exiting 3 (0: not at all)")
    analysis: dict[str, Any] = Field(default_factory=dict)
    target: Literal["kubernetes", "ecs"] = Field(default="kubernetes", description="where deploy and rollback act")
    router: Literal["replicas", "gateway-api"] = Field(
        default="replicas", description="Kubernetes: the canary's share by pods, or exact weights on an HTTPRoute")
    route: str | None = Field(default=None, description="the HTTPRoute for router gateway-api [default: the Deployment's name]")
    ecs: EcsDeploySettings = Field(default_factory=EcsDeploySettings.model_construct)
    waves: list[WaveSettings] = Field(default_factory=list, description="clusters deployed one after another")

    @field_validator("pause", "interval", "lease_duration", "rollout_timeout", "api_retry_window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: float) -> float:
        return check_interval(value)

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: list[int]) -> list[int]:
        if any(not 0 < step < 100 for step in value) or value != sorted(set(value)):
            raise ValueError("steps must be increasing percentages between 1 and 99")
        return value


class PreflightSettings(_Section):
    """`magent preflight`: what to check, so that CI runs the bare command. Flags override each key."""

    checklist: str = "production"
    repo: str | None = None
    manifests: list[str] = Field(default_factory=list)
    deployment: str | None = None
    model_config_globs: list[str] = Field(default_factory=list, alias="model_config")
    tests_cmd: str | None = None
    baseline: str | None = None
    health_url: str | None = None
    staging_url: str | None = None
    secret_id: str | None = None
    fail_on: Literal["critical", "warning"] = "critical"
    timeout: float = Field(default=30.0, gt=0, le=3600)
    max_age: float = Field(default=90 * 86400.0, gt=0, description="attestations older than this stop counting")

    @field_validator("timeout", "max_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class ExportJobRequests(_Section):
    """Per key, so that setting one keeps the other's default (null removes it)."""

    cpu: str | None = "250m"
    memory: str | None = "256Mi"

    @field_validator("cpu", "memory", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> str | None:
        return None if value is None else check_quantity(str(value))


class ExportJobLimits(ExportJobRequests):
    cpu: str | None = None  # a CPU limit only throttles a worker whose pace is the API's rate limit
    memory: str | None = "1Gi"


class ExportJobSettings(_Section):
    """`conversations export --emit-job / --submit`: the Indexed Job's pods. Flags override each key."""

    image: str | None = Field(default=None, description=f"[default: {IMAGE_REPOSITORY}:<magent version>]")
    namespace: str | None = Field(default=None, description="[default: kubernetes.namespace]")
    key_secret: str = Field(default="magent-mistral#api-key", description="NAME[#KEY] holding the Mistral API key")
    database_secret: str = Field(default="magent-database#url", description="NAME[#KEY] holding the database URL")
    requests: ExportJobRequests = Field(default_factory=ExportJobRequests.model_construct)
    limits: ExportJobLimits = Field(default_factory=ExportJobLimits.model_construct)
    service_account: str | None = None

    @field_validator("key_secret", "database_secret")
    @classmethod
    def _secret_ref(cls, value: str) -> str:
        parse_secret_ref(value, "key")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return None if value is None else check_namespace(value)


class ExportSettings(_Section):
    job: ExportJobSettings = Field(default_factory=ExportJobSettings.model_construct)


def _alerts_section(value: Any) -> Any:
    from magent.core.alert_config import AlertsSettings

    return value if isinstance(value, AlertsSettings) else AlertsSettings.model_validate(value)


def _default_alerts() -> AlertsSection:
    from magent.core.alert_config import default_alerts

    return default_alerts()


# An AlertsSettings, typed Any for pydantic so that building Settings' validator does not build the alert models'
# (~60 ms of regex patterns and nested models at every command's start, for the few commands that read them).
if TYPE_CHECKING:
    from magent.core.alert_config import AlertsSettings as AlertsSection
else:
    AlertsSection = Annotated[Any, BeforeValidator(_alerts_section)]


class Settings(_Section):
    """One resolved profile."""

    mistral: MistralSettings = Field(default_factory=MistralSettings.model_construct)
    aws: AwsSettings = Field(default_factory=AwsSettings.model_construct)
    kubernetes: KubeSettings = Field(default_factory=KubeSettings.model_construct)
    store: StoreSettings = Field(default_factory=StoreSettings.model_construct)
    notify: NotifySettings = Field(default_factory=NotifySettings.model_construct)
    deploy: DeploySettings = Field(default_factory=DeploySettings.model_construct)
    preflight: PreflightSettings = Field(default_factory=PreflightSettings.model_construct)
    alerts: AlertsSection = Field(default_factory=_default_alerts)
    export: ExportSettings = Field(default_factory=ExportSettings.model_construct)


_FILE_ONLY_KEYS = ("profiles", "default_profile")

# environment variable → path inside Settings
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "MAGENT_MISTRAL_URL": ("mistral", "base_url"),
    "MAGENT_DATABASE_URL": ("store", "database_url"),
    "MAGENT_DATA_DIR": ("store", "data_dir"),
    "MAGENT_WEBHOOK_URL": ("notify", "webhook_url"),
    "MAGENT_NAMESPACE": ("kubernetes", "namespace"),
    "KUBECONFIG": ("kubernetes", "kubeconfig"),
    "AWS_ENDPOINT_URL": ("aws", "endpoint_url"),
    "AWS_DEFAULT_REGION": ("aws", "region"),
    "AWS_REGION": ("aws", "region"),
}


def load_settings(
    config_path: str | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Settings, str, Path | None]:
    """Resolve (settings, profile name, file used). Every profile of the file is validated, not only this one."""
    env = os.environ if env is None else env
    path = find_config_file(config_path, env)
    document, node = _read_yaml(path) if path else ({}, None)
    profiles = _profiles(document, path, node)
    name = profile or env.get("MAGENT_PROFILE") or _default_profile(document, path, node) or DEFAULT_PROFILE
    if name != DEFAULT_PROFILE and name not in profiles:
        if not path:
            hint = "profiles live in magent.yaml (or the file of --config / MAGENT_CONFIG) under `profiles:`"
        elif not profiles:
            hint = f"{path} defines no profiles: add a `profiles:` section, or leave --profile out"
        else:
            hint = f"known profiles: {', '.join(sorted(profiles))}"
        raise ConfigError(f"profile {name!r} not found in {path or 'any config file'}", hint=hint)
    base = {k: v for k, v in document.items() if k not in _FILE_ONLY_KEYS}
    settings = _validated_profile(base, profiles, name, env, path, node)
    # An error in `prod` must not wait for the day someone deploys with --profile prod.
    for other in sorted(set(profiles) - {name}):
        _validated_profile(base, profiles, other, env, path, node, selected=name)
    return settings, name, path


def _validated_profile(base: dict[str, Any], profiles: dict[str, Any], name: str, env: Mapping[str, str],
                       path: Path | None, node: yaml.Node | None, *, selected: str | None = None) -> Settings:
    merged = _deep_merge(base, profiles.get(name) or {})
    _apply_env(merged, env)
    # Before validation, so that even an error quoting a bad value cannot show a password or token it holds.
    register_secrets_in(merged)
    alerts = merged.pop("alerts", _NO_ALERTS)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, path, node, name, other_than=selected) from None
    _check_analysis(settings, path, node, name, other_than=selected)
    if alerts is not _NO_ALERTS:
        settings.alerts = _validated_alerts(alerts, path, node, name, other_than=selected)
    return settings


_NO_ALERTS = object()


def _validated_alerts(alerts: Any, path: Path | None, node: yaml.Node | None, profile: str, *,
                      other_than: str | None = None) -> AlertsSection:
    """The `alerts:` section, validated apart from Settings (whose validator does not descend into it), with the
    same file:line: key errors."""
    from magent.core.alert_config import HINT, AlertsSettings

    try:
        return AlertsSettings.model_validate(alerts)
    except ValidationError as exc:
        raise _config_error(exc, path, node, profile, prefix=["alerts"], other_than=other_than,
                            hint=HINT) from None


def _profiles(document: dict[str, Any], path: Path | None, node: yaml.Node | None) -> dict[str, Any]:
    profiles = document.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{_where(path, node, ['profiles'])}: profiles: must be a mapping of profile name to "
                          f"settings, not {_kind(profiles)}", hint="see README, 'Configuration'")
    for name, block in profiles.items():
        if not isinstance(name, str):
            raise ConfigError(f"{_where(path, node, ['profiles'])}: profiles: profile names must be text, "
                              f"not {_kind(name)} {name!r}", hint="quote the name, e.g. '2026': {...}")
        if block is not None and not isinstance(block, dict):
            raise ConfigError(f"{_where(path, node, ['profiles', name])}: profiles.{name}: must be a mapping of "
                              f"settings, not {_kind(block)}", hint="see README, 'Configuration'")
    return profiles


def _default_profile(document: dict[str, Any], path: Path | None, node: yaml.Node | None) -> str | None:
    value = document.get("default_profile")
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{_where(path, node, ['default_profile'])}: default_profile: must be a profile name, "
                          f"not {_kind(value)}", hint="e.g. default_profile: staging")
    return value


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number", float: "a number",
            str: "text"}.get(type(value), type(value).__name__)


def _where(path: Path | None, node: yaml.Node | None, loc: list[str]) -> str:
    line = _line_of(node, loc)
    return f"{path}:{line}" if path and line else str(path or "environment")


def _check_analysis(settings: Settings, path: Path | None, node: yaml.Node | None, profile: str, *,
                    other_than: str | None = None) -> None:
    """Validate `deploy.analysis` now, naming file and line like any other key (`deploy` parses it again later)."""
    if not settings.deploy.analysis:
        return
    from magent.core.analysis_config import AnalysisSettings

    try:
        AnalysisSettings.model_validate(settings.deploy.analysis)
    except ValidationError as exc:
        raise _config_error(exc, path, node, profile, prefix=["deploy", "analysis"], other_than=other_than,
                            hint="see README, 'Canary analysis (deploy.analysis)', for the keys magent knows") from None


def _read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    document, node = parse_config_yaml(data, str(path))
    if document is None:
        return {}, None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping", hint="see README, 'Configuration'")
    return document, node


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _apply_env(merged: dict[str, Any], env: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """Set what the environment overrides; returns (section, key) → the variable that set it (`config show`)."""
    applied: dict[tuple[str, str], str] = {}
    for variable, (section, key) in ENV_OVERRIDES.items():
        value = env.get(variable)
        if value:
            block = merged.setdefault(section, {})
            if isinstance(block, dict) and not (key == "region" and block.get(key) and variable != "AWS_REGION"):
                block[key] = value
                applied[(section, key)] = variable
    return applied


def _config_error(exc: ValidationError, path: Path | None, node: yaml.Node | None, profile: str, *,
                  prefix: list[str] | None = None, other_than: str | None = None,
                  hint: str = "see README, 'Configuration', for the keys magent knows") -> ConfigError:
    """`file:line: key: what`. For a profile other than the one in use (`other_than`), the key says which."""
    first = exc.errors()[0]
    loc = [*(prefix or []), *(str(part) for part in first["loc"])]
    dotted = ".".join(loc)
    in_profile = _line_of(node, ["profiles", profile, *loc], exact=True)
    line = in_profile or _line_of(node, loc) or _line_of(node, ["profiles", profile, *loc])
    where = f"{path}:{line}" if path and line else str(path or "environment")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    if other_than is not None:
        dotted = f"profiles.{profile}.{dotted}" if in_profile else f"{dotted} (with profile {profile!r})"
        hint = f"every profile is checked, not only {other_than!r}; {hint}"
    return ConfigError(f"{where}: {dotted}: {message}", hint=hint)


def _line_of(node: yaml.Node | None, loc: list[str], *, exact: bool = False) -> int | None:
    """1-based line of the YAML node at `loc`, or of the deepest parent found (None if `exact` and not all found)."""
    found = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                return None if exact else found
            key_node = next(k for k, v in node.value if v is match)
            found, node = key_node.start_mark.line + 1, match
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            found = node.start_mark.line + 1
        else:
            return None if exact else found
    return found
