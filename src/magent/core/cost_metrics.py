"""Spend as metrics, for the cost-spike alert (`magent usage report --emit-metrics`). Pure: no I/O.

- CloudWatch: one datapoint per model and UTC hour, stamped at the start of the hour, holding that hour's
  spend in USD (dimension Model, plus the cost-spike alarm's dimensions), and one per hour without Model:
  the total, which the alarm reads (CloudWatch matches dimensions exactly, so an alarm cannot sum models).
  The alarm's statistic is Maximum, so publishing an hour again (as more of it is exported) never counts twice.
- Prometheus (node-exporter textfile): a gauge per model, the spend over the trailing hour, and the time the
  file was written (an alert on it catches a cron job that stopped). A textfile cannot carry timestamps.

Models without a price have no cost: they are left out (and named, so that the caller can warn).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from magent.core.alert_config import AlertsSettings
from magent.core.alert_table import COST_MODEL_DIMENSION
from magent.core.cost import CostLine

CLOUDWATCH_MAX_AGE = timedelta(days=14)  # PutMetricData refuses older timestamps


@dataclass(frozen=True)
class HourCost:
    model: str
    hour: datetime
    usd: Decimal


def hourly_costs(lines: Iterable[CostLine]) -> tuple[list[HourCost], list[str]]:
    """CostLines keyed (model, hour) → priced (model, hour, USD), and the models left out for want of a price."""
    costs, unpriced = [], set()
    for line in lines:
        model, hour = line.key
        if line.cost is None or line.unpriced_models:
            unpriced.add(str(model))
        if line.cost is not None:
            costs.append(HourCost(str(model), hour, line.cost))  # type: ignore[arg-type]
    return costs, sorted(unpriced)


def cloudwatch_target(settings: AlertsSettings) -> tuple[str, str, dict[str, str]]:
    """(namespace, metric, dimensions) the cost-spike alarm reads: where the spend must be published."""
    rule = settings.rule("cost-spike")
    return rule.namespace, rule.metric, dict(rule.dimensions)


def cloudwatch_datums(costs: list[HourCost], metric: str, dimensions: dict[str, str], *,
                      now: datetime) -> tuple[list[dict[str, Any]], int]:
    """PutMetricData datums (per model, and the hour's total) and how many hours were too old to publish."""
    totals: dict[datetime, Decimal] = {}
    datums, too_old = [], set()
    for cost in costs:
        if now - cost.hour > CLOUDWATCH_MAX_AGE:
            too_old.add(cost.hour)
            continue
        totals[cost.hour] = totals.get(cost.hour, Decimal(0)) + cost.usd
        datums.append(_datum(metric, {**dimensions, COST_MODEL_DIMENSION: cost.model}, cost.hour, cost.usd))
    datums += [_datum(metric, dimensions, hour, usd) for hour, usd in sorted(totals.items())]
    return datums, len(too_old)


def _datum(metric: str, dimensions: dict[str, str], hour: datetime, usd: Decimal) -> dict[str, Any]:
    return {"MetricName": metric, "Timestamp": hour, "Value": float(usd), "Unit": "None",
            "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())]}


def textfile(costs: dict[str, Decimal], metric: str, *, now: datetime) -> str:
    """The node-exporter textfile: `metric{model="…"}` = USD over the trailing hour, and the time written."""
    lines = [f"# HELP {metric} Mistral spend in USD over the last hour, by model (magent usage report).",
             f"# TYPE {metric} gauge"]
    lines += [f'{metric}{{model="{_escape(model)}"}} {float(usd):.6f}' for model, usd in sorted(costs.items())]
    stamp = "magent_usage_metrics_timestamp_seconds"
    lines += [f"# HELP {stamp} When magent last wrote these usage metrics (Unix time).", f"# TYPE {stamp} gauge",
              f"{stamp} {now.timestamp():.0f}"]
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
