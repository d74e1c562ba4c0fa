"""`magent usage report`: tokens and cost by model, agent, day or conversation, from the store."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from magent.cli.state import get_state

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.core.cost import WindowPlan
    from magent.services.store.usage import UsageData

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
read from the daily rollup the export maintains; partial days at the edges, and --by conversation, are
read from the entries themselves, so the figures are exact for any window.

Exit codes: 0 report printed (also when there is no usage); 2 bad input (unknown --by, --since in the
future or unparsable, --until not after --since, invalid price file); 3 the store is unreachable.

\b
Examples:
  magent usage report
  magent usage report --since 7d --by day --by model
  magent usage report --since 2026-11-01 --until 2026-11-08 --by agent,model -o csv > usage.csv
  magent usage report --by conversation --pricing my-prices.yaml -o json
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
        "--by", metavar="DIM", show_default=False,
        help="Group by model, agent, day, conversation; repeatable or comma-separated [default: model].")] = None,
    pricing: Annotated[Optional[str], typer.Option(
        "--pricing", metavar="FILE", show_default=False,
        help="Price file (YAML or JSON) whose entries override the shipped table.")] = None,
    output: Annotated[Optional[ReportFormat], typer.Option(
        "--output", "-o", show_default=False, help="table, json, yaml or csv (overrides the global -o).")] = None,
) -> None:
    from magent.cli.usage_view import build_document, render
    from magent.core.cost import parse_dimensions, parse_window, plan_window, price_usage
    from magent.core.pricing import load_pricing
    from magent.core.timeutil import utcnow

    state = get_state()
    dims = parse_dimensions(by)
    start, end = parse_window(since, until, utcnow())
    table = load_pricing(pricing)  # validated before the store is touched: bad input changes nothing
    plan = plan_window(start, end)
    description, data = _fetch(state, dims, plan)
    cost_report = price_usage(data.rows, table, dims)
    fmt = output or ReportFormat(state.output.value)
    document = build_document(cost_report, data, plan, table, store=description, now=utcnow())
    render(state, fmt.value, cost_report, data, document)


def _fetch(state: AppState, dims: tuple[str, ...], plan: WindowPlan) -> tuple[str, UsageData]:
    from magent.services.store import open_store
    from magent.services.store.usage import fetch_usage

    store = open_store(state.settings.store)
    try:
        with store.connection() as conn:
            return store.description, fetch_usage(conn, dims, plan)
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    app.add_typer(usage_app, name="usage")
