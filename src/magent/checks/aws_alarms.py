"""aws.alarms: the seed's alert table exists as CloudWatch alarms (`magent.core.alert_table`), as `alerts:` in
magent.yaml configures it and `magent alerts apply` writes it.

Alarms are found by name, `prefix + rule` (`magent-api-down`, …; the prefix is alerts.cloudwatch.prefix
unless params.prefix says otherwise), with one DescribeAlarms call per run. The rules required are the
table's enabled rules unless params.required lists some.
A missing alarm fails the item; an alarm whose metric or threshold departs from the table is a warning.
Region and endpoint come from `aws` in magent.yaml (AWS_REGION, AWS_ENDPOINT_URL).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from magent.checks import CheckContext, CheckType, register_check
from magent.core.alert_table import RULES, alarm_differences
from magent.core.preflight import CheckResult, Finding
from magent.core.text import counted


class AlarmsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefix: str | None = Field(default=None, description="alarm names are prefix + rule, e.g. magent-api-down "
                                                        "[default: alerts.cloudwatch.prefix, magent-]")
    required: list[str] | None = Field(default=None, description="rules of the alert table that must exist as "
                                                                 "alarms [default: the enabled rules]")

    @field_validator("required")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [name for name in value if name not in RULES]
        if unknown:
            raise ValueError(f"{counted(len(unknown), 'unknown alert rule')}: {', '.join(unknown)}; "
                             f"known: {', '.join(RULES)}")
        return list(dict.fromkeys(value))


def run(ctx: CheckContext) -> CheckResult:
    from magent.services.aws.cloudwatch import describe_alarms

    params = ctx.params or AlarmsParams()
    table = ctx.settings.alerts
    required = params.required if params.required is not None else [rule.name for rule in table.table()]
    if not required:
        return CheckResult.skipped("no alarm required (params.required, or every rule disabled in alerts.rules)")
    prefix = params.prefix if params.prefix is not None else table.cloudwatch.prefix
    aws = ctx.settings.aws
    alarms = describe_alarms(prefix, region=aws.region, endpoint_url=aws.endpoint_url,
                             timeout_s=min(10.0, ctx.options.timeout_s))
    rules = [table.rule(name) for name in required]
    missing = [rule for rule in rules if rule.alarm_name(prefix) not in alarms]
    if missing:
        names = ", ".join(rule.alarm_name(prefix) for rule in missing)
        return CheckResult.failed(
            f"{len(missing)} of {counted(len(rules), 'alarm')} of the alert table missing: {names} "
            "(`magent alerts apply` creates them)",
            [Finding(f"{rule.alarm_name(prefix)} missing: {rule.title}, {rule.describe()}, {rule.severity}",
                     rule="alarm-missing") for rule in missing])
    drifted = [(rule, alarm_differences(rule, alarms[rule.alarm_name(prefix)])) for rule in rules]
    findings = [Finding(f"{rule.alarm_name(prefix)}: {'; '.join(diffs)}", rule="alarm-differs",
                        severity="warning") for rule, diffs in drifted if diffs]
    if findings:
        return CheckResult.warned(f"{counted(len(rules), 'alarm')} found, {len(findings)} unlike the alert table",
                                  findings)
    return CheckResult.passed(f"{counted(len(rules), 'alarm')} of the alert table found ({prefix}*)")


register_check(CheckType("aws.alarms", run, summary="The alert table exists as CloudWatch alarms", params=AlarmsParams))
