"""`magent usage report --emit-metrics`: publish spend per model and hour where the cost-spike alert reads it.

Takes an open store connection and the adapters (CloudWatch client, textfile path) as arguments; the metric
names, namespace and dimensions come from the alert table (`alerts:`), so the alert and the data agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from magent.core.alert_config import AlertsSettings
from magent.core.cost import plan_window, price_usage
from magent.core.cost_metrics import cloudwatch_datums, cloudwatch_target, hourly_costs, textfile
from magent.core.pricing import PricingTable

HOUR = timedelta(hours=1)


@dataclass
class Published:
    """What was published, for the message the CLI prints."""

    where: str
    datapoints: int
    unpriced_models: list[str] = field(default_factory=list)
    too_old_hours: int = 0


def start_of_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def to_cloudwatch(conn: Any, alerts: AlertsSettings, table: PricingTable, since: datetime, until: datetime | None,
                  *, now: datetime, client: Any, endpoint_url: str | None = None) -> Published:
    """Every whole UTC hour from the one holding `since` to `until` (or now): spend per model, and the total."""
    from magent.services.aws.cloudwatch import put_metric_data
    from magent.services.store.usage import fetch_hourly_usage

    rows = fetch_hourly_usage(conn, start_of_hour(since), until)
    costs, unpriced = hourly_costs(price_usage(rows, table, ("model", "hour")).lines)
    namespace, metric, dimensions = cloudwatch_target(alerts)
    datums, too_old = cloudwatch_datums(costs, metric, dimensions, now=now)
    sent = put_metric_data(namespace, datums, client=client, endpoint_url=endpoint_url)
    return Published(f"CloudWatch {namespace}/{metric}", sent, unpriced, too_old)


def to_textfile(conn: Any, alerts: AlertsSettings, table: PricingTable, until: datetime | None, *, now: datetime,
                path: str) -> Published:
    """Spend per model over the hour before `until` (or now), as a node-exporter textfile."""
    from magent.services.store.usage import fetch_usage
    from magent.services.textfile import write_textfile

    end = until or now
    data = fetch_usage(conn, ("model",), plan_window(end - HOUR, end))
    report = price_usage(data.rows, table, ("model",))
    costs = {str(line.key[0]): line.cost for line in report.lines if line.cost is not None}
    written = write_textfile(path, textfile(costs, alerts.prometheus.cost_metric, now=now))  # type: ignore[arg-type]
    return Published(f"textfile {written}", len(costs), report.unpriced_models)
