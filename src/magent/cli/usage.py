"""`magent usage report`: tokens and cost by model, agent, day or conversation, from the store."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from magent.cli.db import DatabaseUrlOption, DataDirOption
from magent.cli.flags import complete_dimensions
from magent.cli.state import get_state
from magent.core.errors import CheckFailed, UsageError
from magent.core.text import counted

if TYPE_CHECKING:
    from datetime import datetime
    from decimal import Decimal

    from magent.cli.state import AppState
    from magent.core.cost import CostReport, WindowPlan
    from magent.core.pricing import PricingTable

usage_app = typer.Typer(
    name="usage",
    help="Token and cost reports over the conversations exported to the store.",
    no_args_is_help=True,
)

REPORT_HELP = """Tokens and cost in USD for a window, grouped by model, agent, day and/or conversation.

Cost model: a conversation re-sends its context on every turn. For each model output (message.output,
function.call), prompt tokens are the tokens of everything before it in the conversation and completion
tokens those of the output; each is priced per million tokens from the price table (shipped with magent,
overridden with --pricing FILE). A model without a price shows its tokens and no cost (never zero).

The window is [--since, --until), in UTC; by default the last 30 UTC days including today. Whole days are
read from the rollups the export maintains (by day, model and agent; by day and conversation for --by
conversation); partial days at the edges are read from the entries themselves, so the figures are exact for
any window.

--emit-metrics also publishes the spend where the cost-spike alert (`magent alerts`) reads it:
cloudwatch puts one datapoint per model and UTC hour of the window (dimension Model) and one per hour for
all models, metric and namespace from alerts: in magent.yaml (Magent/App CostUSD); prometheus-textfile
writes the spend per model over the trailing hour to a node-exporter textfile
(magent_usage_cost_usd_last_hour). With --emit-metrics the default window is the last 24 hours.

--budget USD (for cron and CI) exits 1 when the priced spend in the window exceeds it, after printing the
report, and says by how much on stderr; models without a price are named there, as the spend may be higher.

Exit codes: 0 report printed (also when there is no usage); 1 spend over --budget; 2 bad input (unknown --by, --since in the
future or unparsable, --until not after --since, invalid price file, bad --textfile); 3 the store (or
CloudWatch) is unreachable.

\b
Examples:
  magent usage report
  magent usage report --since 7d --by day --by model
  magent usage report --since 2026-11-01 --until 2026-11-08 --by agent,model -o csv > usage.csv
  magent usage report --by conversation --pricing my-prices.yaml -o json
  magent usage report --since 1d --budget 50                        # cron/CI: exit 1 over $50
  magent usage report --since 3h --emit-metrics cloudwatch          # cron: feeds the cost-spike alarm
  magent usage report --textfile /var/lib/node_exporter/textfile/magent_usage.prom -o json > /dev/null
  (no data yet? run `magent conversations export` first)
"""


class ReportFormat(str, enum.Enum):
    table = "table"
    json = "json"
    yaml = "yaml"
    csv = "csv"


@usage_app.command("report", help=REPORT_HELP)
def report(
    since: Annotated[Optional[str], typer.Option(
        "--since", metavar="TIME", show_default=False,
        help="Start (inclusive): ISO 8601 or an age like 7d [default: 00:00 UTC 29 days ago].")] = None,
    until: Annotated[Optional[str], typer.Option(
        "--until", metavar="TIME", show_default=False,
        help="End (exclusive): ISO 8601 or an age [default: now].")] = None,
    by: Annotated[Optional[list[str]], typer.Option(
        "--by", metavar="DIM", show_default=False, autocompletion=complete_dimensions,
        help="Group by model, agent, day, conversation; repeatable or comma-separated [default: model].")] = None,
    pricing: Annotated[Optional[str], typer.Option(
        "--pricing", metavar="FILE", show_default=False,
        help="Price file (YAML or JSON) whose entries override the shipped table.")] = None,
    output: Annotated[Optional[ReportFormat], typer.Option(
        "--output", "-o", show_default=False, help="table, json, yaml or csv (overrides the global -o).")] = None,
    emit_metrics: Annotated[Optional[EmitTarget], typer.Option(
        "--emit-metrics", show_default=False,
        help="Also publish spend per model and hour for the cost-spike alert: cloudwatch (PutMetricData) or "
             "prometheus-textfile (with --textfile) [default window then: the last 24 hours].")] = None,
    textfile: Annotated[Optional[str], typer.Option(
        "--textfile", metavar="PATH", show_default=False,
        help="The node-exporter textfile (*.prom) to write, atomically; implies --emit-metrics "
             "prometheus-textfile.")] = None,
    budget: Annotated[Optional[str], typer.Option(
        "--budget", metavar="USD", show_default=False,
        help="Exit 1 when the priced spend in the window exceeds this many USD (for cron and CI).")] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    from magent.cli.db import store_settings
    from magent.core.cost import parse_dimensions, parse_window, plan_window
    from magent.core.pricing import load_pricing
    from magent.core.timeutil import utcnow

    state = get_state()
    emit = _emit_target(emit_metrics, textfile)
    dims = parse_dimensions(by)
    limit = _budget(budget)
    start, end = parse_window(since or ("24h" if emit else None), until, utcnow())
    table = load_pricing(pricing)  # validated before the store is touched: bad input changes nothing
    plan = plan_window(start, end)
    settings = store_settings(state, data_dir, database_url)
    fmt = output or ReportFormat(state.output.value)
    cost_report = _report(state, settings, fmt, dims, plan, table)
    if emit is not None:
        _publish(state, settings, emit, textfile, table, start, end)
    if limit is not None:
        _check_budget(cost_report, limit)


def _budget(text: str | None) -> Decimal | None:
    """--budget as a finite, non-negative USD amount, checked before the store is touched."""
    from decimal import Decimal, InvalidOperation

    if text is None:
        return None
    try:
        value = Decimal(text.strip().removeprefix("$"))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value.adjusted() > 15:
        raise UsageError(f"--budget: invalid amount {text[:40]!r}", hint="a number of USD, e.g. --budget 50 or 12.5")
    return value


def _check_budget(cost_report: CostReport, limit: Decimal) -> None:
    from decimal import Decimal

    total = cost_report.total
    spend = total.cost or Decimal(0)
    if spend <= limit:
        return
    unpriced = ""
    if total.unpriced_models:
        unpriced = f" (not counting unpriced {', '.join(sorted(total.unpriced_models))})"
    raise CheckFailed(f"spend ${spend:.2f} exceeds the budget of ${limit:.2f} by ${spend - limit:.2f}{unpriced}",
                      hint="see the report above; raise --budget or narrow --since/--until")


def _report(state: AppState, settings: Any, fmt: ReportFormat, dims: tuple[str, ...], plan: WindowPlan,
            table: PricingTable) -> CostReport:
    """Print the report as the store prices it and streams its groups (memory independent of their number)."""
    from magent.cli.usage_view import build_document, formatted_lines, render
    from magent.core.timeutil import utcnow
    from magent.services.store import open_store
    from magent.services.store.usage_priced import priced_usage

    store = open_store(settings)
    try:
        lines = formatted_lines(state, fmt.value)
        with store.connection() as conn, priced_usage(conn, dims, plan, table, label_widths=fmt is ReportFormat.table,
                                                      lines=lines) as priced:
            document = build_document(priced.report, priced.data, plan, table, store=store.description,
                                      now=utcnow())
            render(state, fmt.value, priced.report, priced.data, document, label_widths=priced.label_widths,
                   formatted=None if lines is None else priced.formatted)
            return priced.report
    finally:
        store.close()


class EmitTarget(str, enum.Enum):
    cloudwatch = "cloudwatch"
    prometheus_textfile = "prometheus-textfile"


def _emit_target(target: EmitTarget | None, textfile: str | None) -> EmitTarget | None:
    """The metrics to publish, checked before the store is touched (bad input changes nothing)."""
    if textfile is not None and target is None:
        target = EmitTarget.prometheus_textfile
    if textfile is not None and target is EmitTarget.cloudwatch:
        raise UsageError("--textfile goes with --emit-metrics prometheus-textfile, not cloudwatch",
                         hint="drop --textfile, or use --emit-metrics prometheus-textfile")
    if target is EmitTarget.prometheus_textfile and not textfile:
        raise UsageError("--emit-metrics prometheus-textfile needs --textfile PATH",
                         hint="e.g. --textfile /var/lib/node_exporter/textfile/magent_usage.prom")
    if textfile is not None:
        from magent.services.textfile import check_textfile

        check_textfile(textfile)
    return target


def _publish(state: AppState, settings: Any, target: EmitTarget, textfile: str | None, table: PricingTable,
             start: datetime, end: datetime | None) -> None:
    from magent.core.timeutil import utcnow
    from magent.services.store import open_store
    from magent.workflows import usage_metrics

    alerts, aws = state.settings.alerts, state.settings.aws
    store = open_store(settings)
    try:
        with store.connection() as conn:
            if target is EmitTarget.cloudwatch:
                from magent.services.aws.cloudwatch import cloudwatch_client

                client = cloudwatch_client(region=aws.region, endpoint_url=aws.endpoint_url)
                done = usage_metrics.to_cloudwatch(conn, alerts, table, start, end, now=utcnow(), client=client,
                                                   endpoint_url=aws.endpoint_url)
            else:
                done = usage_metrics.to_textfile(conn, alerts, table, end, now=utcnow(), path=str(textfile))
    finally:
        store.close()
    _say_published(done)


def _say_published(done: Any) -> None:
    import sys

    from magent.core.redact import SECRETS

    lines = [f"published {counted(done.datapoints, 'spend value')} to {done.where}"]
    if done.unpriced_models:
        lines.append(f"warning: no price for {', '.join(done.unpriced_models)}: left out of the spend "
                     "(add them with --pricing FILE)")
    if done.too_old_hours:
        lines.append(f"warning: {counted(done.too_old_hours, 'hour')} older than 14 days skipped "
                     "(CloudWatch refuses them)")
    print(SECRETS.mask("\n".join(lines)), file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.add_typer(usage_app, name="usage")
