"""The settings' models: one pydantic model per magent.yaml section, and `Settings`, one resolved profile.

Loading (file, profiles, environment) is in `magent.core.config`, which re-exports these names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from magent.core.export_job import IMAGE_REPOSITORY, check_namespace, check_quantity, parse_secret_ref
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
    # defer_build: a section's validator is built the first time a value for it is validated (`validate_settings`),
    # not at import; defaults are made with `model_construct`, which needs none.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


class MistralSettings(_Section):
    base_url: str = DEFAULT_MISTRAL_URL
    key_from: list[str] = Field(default_factory=lambda: ["env:MISTRAL_API_KEY"])
    models: list[str] = Field(default_factory=list, description="models the application uses")
    intentional_aliases: list[str] = Field(
        default_factory=list, description="'-latest' aliases used on purpose (no warning)"
    )
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float:
        return parse_duration(value)  # `30s` as every other duration in magent.yaml (it once had to be 30)


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


def validate_settings(merged: dict[str, Any]) -> Settings:
    """`Settings.model_validate(merged)`, building the validators of the sections present only: a command run with a
    few environment variables (rollback, status) does not pay for the schema of every section (~30-70 ms)."""
    sections: dict[str, type[_Section]] = {}
    for name in merged:
        field = Settings.model_fields.get(name)
        model = field.annotation if field else None
        if not (isinstance(model, type) and issubclass(model, _Section)):
            return Settings.model_validate(merged)  # an unknown key: Settings' own error
        sections[name] = model
    try:
        values: dict[str, Any] = {name: model.model_validate(merged[name]) for name, model in sections.items()}
    except ValidationError:
        # Settings' validator reports the first error in its field order, with its location: let it say it.
        return Settings.model_validate(merged)
    return Settings.model_construct(**values)
