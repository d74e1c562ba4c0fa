"""aws.alarms: the seed's alert table exists as CloudWatch alarms (`magent.core.alert_table`).

Alarms are found by name, `prefix + rule` (`magent-api-down`, …), with one DescribeAlarms call per run.
A missing alarm fails the item; an alarm whose metric or threshold departs from the table is a warning.
Region and endpoint come from `aws` in magent.yaml (AWS_REGION, AWS_ENDPOINT_URL).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from magent.checks import CheckContext, CheckType, register_check
from magent.core.alert_table import ALERT_TABLE, DEFAULT_PREFIX, RULES, alarm_differences
from magent.core.preflight import CheckResult, Finding


class AlarmsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefix: str = Field(default=DEFAULT_PREFIX, description="alarm names are prefix + rule, e.g. magent-api-down")
    required: list[str] = Field(default_factory=lambda: [rule.name for rule in ALERT_TABLE],
                                description="rules of the alert table that must exist as alarms")

    @field_validator("required")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in RULES]
        if unknown:
            raise ValueError(f"unknown alert rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
        return list(dict.fromkeys(value))


def run(ctx: CheckContext) -> CheckResult:
    from magent.services.cloudwatch import describe_alarms

    params = ctx.params or AlarmsParams()
    if not params.required:
        return CheckResult.skipped("no alarm required (params.required is empty)")
    aws = ctx.settings.aws
    alarms = describe_alarms(params.prefix, region=aws.region, endpoint_url=aws.endpoint_url,
                             timeout_s=min(10.0, ctx.options.timeout_s))
    rules = [RULES[name] for name in params.required]
    missing = [rule for rule in rules if rule.alarm_name(params.prefix) not in alarms]
    if missing:
        names = ", ".join(rule.alarm_name(params.prefix) for rule in missing)
        return CheckResult.failed(
            f"{len(missing)} of {len(rules)} alarm(s) of the alert table missing: {names}",
            [Finding(f"{rule.alarm_name(params.prefix)} missing: {rule.title}, {rule.describe()}, {rule.severity}",
                     rule="alarm-missing") for rule in missing])
    drifted = [(rule, alarm_differences(rule, alarms[rule.alarm_name(params.prefix)])) for rule in rules]
    findings = [Finding(f"{rule.alarm_name(params.prefix)}: {'; '.join(diffs)}", rule="alarm-differs",
                        severity="warning") for rule, diffs in drifted if diffs]
    if findings:
        return CheckResult.warned(f"{len(rules)} alarm(s) exist, {len(findings)} differ from the alert table", findings)
    return CheckResult.passed(f"{len(rules)} alarm(s) of the alert table exist ({params.prefix}*)")


register_check(CheckType("aws.alarms", run, summary="The alert table exists as CloudWatch alarms", params=AlarmsParams))
