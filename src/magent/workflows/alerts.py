"""`magent alerts apply`: make CloudWatch hold exactly the alert table's alarms.

    desired = the table (alerts: in magent.yaml) as PutMetricAlarm requests, every one validated first
    plan    = diff(desired, the alarms named prefix*): create / update (with the fields that differ) /
              unchanged; with prune, delete the magent-managed alarms (tag magent:managed=true) that the
              table no longer has. Alarms under the prefix that magent did not create are never deleted.
    apply   = put the creates and updates, delete the prunes; re-running changes nothing (idempotent).

Validation happens before any call that writes, so a bad table changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from magent.core.alert_config import AlertsSettings
from magent.core.alert_render import alarm_changes, alarm_request, validate_alarm
from magent.core.alert_table import MANAGED_TAG
from magent.core.errors import ConfigError

CREATE, UPDATE, DELETE, UNCHANGED, UNMANAGED = "create", "update", "delete", "unchanged", "unmanaged"
ACTIONS = (CREATE, UPDATE, DELETE, UNCHANGED, UNMANAGED)


class Alarms(Protocol):
    def existing(self, prefix: str, tag: str) -> dict[str, dict]: ...
    def put(self, request: dict[str, Any], *, exists: bool) -> None: ...
    def delete(self, names: list[str]) -> None: ...


@dataclass
class PlanItem:
    action: str
    name: str
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    request: dict[str, Any] | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "alarm": self.name, "note": self.note,
                "changes": {key: {"from": old, "to": new} for key, (old, new) in self.changes.items()}}


@dataclass
class AlarmsPlan:
    prefix: str
    items: list[PlanItem]

    @property
    def pending(self) -> list[PlanItem]:
        return [item for item in self.items if item.action in (CREATE, UPDATE, DELETE)]

    def counts(self) -> dict[str, int]:
        return {action: sum(item.action == action for item in self.items) for action in ACTIONS}


def desired_alarms(settings: AlertsSettings) -> list[dict[str, Any]]:
    """The table's PutMetricAlarm requests; ConfigError naming the rule when CloudWatch would refuse one."""
    requests = []
    for rule in settings.table():
        request = alarm_request(settings, rule)
        problems = validate_alarm(request)
        if problems:
            raise ConfigError(f"alerts.rules.{rule.name}: CloudWatch would refuse the alarm: {'; '.join(problems)}",
                              hint="fix the rule in magent.yaml (see `magent alerts render --format cloudwatch`)")
        requests.append(request)
    return requests


def plan_alarms(desired: list[dict[str, Any]], existing: dict[str, dict], *, prefix: str,
                prune: bool) -> AlarmsPlan:
    """Pure: what apply would do, alarm by alarm, in the table's order then the extra alarms by name."""
    items = []
    for request in desired:
        alarm = existing.get(request["AlarmName"])
        if alarm is None:
            items.append(PlanItem(CREATE, request["AlarmName"], request=request))
            continue
        changes = alarm_changes(request, alarm)
        if not alarm.get("Managed"):
            changes["Tags"] = (None, {MANAGED_TAG: "true"})
        items.append(PlanItem(UPDATE if changes else UNCHANGED, request["AlarmName"], changes, request))
    wanted = {request["AlarmName"] for request in desired}
    for name in sorted(set(existing) - wanted):
        if not existing[name].get("Managed"):
            items.append(PlanItem(UNMANAGED, name, note="not created by magent: left alone"))
        elif prune:
            items.append(PlanItem(DELETE, name, note="no longer in the alert table"))
        else:
            items.append(PlanItem(UNCHANGED, name, note="no longer in the alert table (--prune deletes it)"))
    return AlarmsPlan(prefix, items)


def plan(settings: AlertsSettings, alarms: Alarms, *, prune: bool) -> AlarmsPlan:
    desired = desired_alarms(settings)  # validated before CloudWatch is even read
    existing = alarms.existing(settings.cloudwatch.prefix, MANAGED_TAG)
    return plan_alarms(desired, existing, prefix=settings.cloudwatch.prefix, prune=prune)


def apply(alarms_plan: AlarmsPlan, alarms: Alarms,
          progress: Callable[[PlanItem], None] | None = None) -> list[PlanItem]:
    """Carry out the plan's creates, updates and deletes (in that order); returns what was done."""
    done = []
    for item in alarms_plan.pending:
        if item.action == DELETE:
            continue
        assert item.request is not None
        alarms.put(item.request, exists=item.action == UPDATE)
        done.append(item)
        if progress:
            progress(item)
    deletes = [item for item in alarms_plan.pending if item.action == DELETE]
    if deletes:
        alarms.delete([item.name for item in deletes])
        done += deletes
        for item in deletes:
            if progress:
                progress(item)
    return done
