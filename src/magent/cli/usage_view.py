"""How `magent usage report` looks: a Rich report with a daily cost chart, or JSON / YAML / CSV."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from magent.core.cost import COST_MODEL, PARTIAL, UNPRICED, CostLine, CostReport, WindowPlan, fill_days
from magent.core.pricing import PricingTable
from magent.core.timeutil import isoformat, isoformat_seconds

if TYPE_CHECKING:
    from rich.console import RenderableType

    from magent.cli.state import AppState
    from magent.services.store.usage import UsageData

EXPORT_COMMAND = "magent conversations export"
BAR_WIDTH = 40
MAX_CHART_DAYS = 120
RICH_TABLE_ROWS = 1_000  # a terminal's table of more groups: a line a group, unwrapped (`formatted_lines`)
_EIGHTHS = " ▏▎▍▌▋▊▉"
_HEADINGS = {"model": "Model", "agent": "Agent", "day": "Day (UTC)", "conversation": "Conversation"}
_MICRO = Decimal("0.000000001")


# --- the document: one structure for JSON, YAML, CSV and the table ----------------------------------


def build_document(report: CostReport, data: UsageData, plan: WindowPlan, table: PricingTable, *,
                   store: str, now: datetime) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-ready data; "rows" is a generator over the streaming groups."""
    document: dict[str, Any] = {
        "window": {
            "since": isoformat(plan.since),
            "until": isoformat(plan.until) if plan.until else None,
            "generated_at": isoformat(now),
            "read_from": list(data.sources),
        },
        "group_by": list(report.by),
        "cost_model": COST_MODEL,
        "currency": "USD",
        "store": store,
        "rows": (_row(report.by, line, data, report) for line in report.lines),
        "totals": _measures(report.total),
        "daily": [{"day": line.key[0].isoformat(), **_measures(line)} for line in report.daily],
        "prices": [_price(model, match) for model, match in report.prices_used.items()],
        "price_tables": list(table.origins),
        "unpriced_models": report.unpriced_models,
    }
    if report.is_empty:
        document["message"] = empty_message(data, plan)
    return document


def empty_message(data: UsageData, plan: WindowPlan) -> str:
    if not data.store_has_entries:
        return f"The store has no conversations yet: run `{EXPORT_COMMAND}` to fill it, then report again."
    return (f"No model outputs between {describe_window(plan.since, plan.until)}. Widen the window with "
            f"--since, or run `{EXPORT_COMMAND}` to fetch newer conversations.")


def describe_window(since: datetime, until: datetime | None) -> str:
    return f"{isoformat_seconds(since)} and {isoformat_seconds(until) if until else 'now'}"


def _row(by: tuple[str, ...], line: CostLine, data: UsageData, report: CostReport) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for dim, value in zip(by, line.key, strict=True):
        if dim == "day":
            row["day"] = value.isoformat()
        elif dim == "model":
            row["model"] = value or None
            match = report.prices_used.get(str(value))
            row["priced_as"] = match.priced_as if match else None
        elif dim == "agent":
            row["agent_id"] = value or None
            row["agent_name"] = line.names.get(dim) or data.agent_names.get(str(value))
        else:
            row["conversation_id"] = value
            row["conversation_name"] = line.names.get(dim) or data.conversation_names.get(str(value))
    return {**row, **_measures(line)}


def _measures(line: CostLine) -> dict[str, Any]:
    unpriced = line.status == UNPRICED
    return {
        "outputs": line.outputs,
        "estimated_outputs": line.estimated_outputs,
        "counted_outputs": line.counted_outputs,
        "prompt_tokens": line.prompt_tokens,
        "completion_tokens": line.completion_tokens,
        "total_tokens": line.total_tokens,
        "input_cost_usd": None if unpriced else _number(line.input_cost),
        "output_cost_usd": None if unpriced else _number(line.output_cost),
        "cost_usd": None if line.cost is None else _number(line.cost),
        "pricing": line.status,
        "unpriced_prompt_tokens": line.unpriced_prompt_tokens,
        "unpriced_completion_tokens": line.unpriced_completion_tokens,
        "unpriced_models": sorted(line.unpriced_models),
    }


def _price(model: str, match: Any) -> dict[str, Any]:
    price = match.price
    return {
        "model": model,
        "priced_as": match.priced_as,
        "input_usd_per_million": _number(price.input),
        "output_usd_per_million": _number(price.output),
        "source": price.source,
        "as_of": price.as_of.isoformat(),
        "note": price.note,
    }


def _number(value: Decimal) -> float | int:
    exact = value.quantize(_MICRO).normalize()
    return int(exact) if exact == exact.to_integral_value() else float(exact)


# --- output ------------------------------------------------------------------------------------------


def render(state: AppState, fmt: str, report: CostReport, data: UsageData, document: dict[str, Any], *,
           label_widths: dict[str, int] | None = None, formatted: Iterable[Any] | None = None) -> None:
    """Print the report; its rows are written as they stream (`label_widths`: widest agent/conversation label;
    `formatted`: the groups as the store formatted them for this format, see `formatted_lines`)."""
    from magent.cli.usage_stream import write_json, write_yaml

    message = document.get("message")
    rows = document["rows"]  # a generator: the writers below stream it where the document has it
    if fmt == "json":
        write_json(document, rows, sys.stdout, formatted)
    elif fmt == "yaml":
        write_yaml(document, rows, sys.stdout, formatted)
    elif fmt == "csv":
        write_csv({**document, "rows": rows}, sys.stdout, formatted)
    else:
        for n, renderable in enumerate(report_view(state, report, data, document, label_widths or {}, formatted)):
            if n > 2:  # a blank line between the sections that follow the three header lines
                state.out.print()
            if callable(renderable):
                renderable()  # the groups table, printed as it streams
            else:
                state.out.print(renderable)
        return
    if message:
        state.err.print(message, markup=False, highlight=False)


CSV_MEASURES = ("outputs", "estimated_outputs", "prompt_tokens", "completion_tokens", "total_tokens",
                "input_cost_usd", "output_cost_usd", "cost_usd", "pricing", "unpriced_models")
_CSV_DIMS = {"model": ("model", "priced_as"), "agent": ("agent_id", "agent_name"), "day": ("day",),
             "conversation": ("conversation_id", "conversation_name")}


def write_csv(document: dict[str, Any], stream: Any, lines: Iterable[str] | None = None) -> None:
    """One row per group (no totals row, so that the file sums cleanly); costs as exact decimals.

    `lines`: the rows' lines as the store wrote them (`services/store/usage_lines.py`), instead of the document's."""
    columns = [column for dim in document["group_by"] for column in _CSV_DIMS[dim]] + list(CSV_MEASURES)
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    if lines is not None:
        for text in lines:  # thousands of lines each
            stream.write(text)
        return
    for row in document["rows"]:
        writer.writerow({key: _csv_cell(row.get(key)) for key in columns})


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return value


def report_view(state: AppState, report: CostReport, data: UsageData, document: dict[str, Any],
                label_widths: dict[str, int], formatted: Iterable[str | tuple[str, ...]] | None = None,
                ) -> list[RenderableType | Callable[[], None]]:
    from rich.text import Text

    window = document["window"]
    title = Text("Usage report ", style="bold")
    until = isoformat_seconds(window["until"]) if window["until"] else "now"  # -o json keeps the microseconds
    title.append(f"{isoformat_seconds(window['since'])} → {until}", style="")
    parts: list[RenderableType] = [
        title,
        Text(f"Store: {document['store']}. Read from: {'; '.join(window['read_from'])}.", style="dim"),
        Text(f"Cost model: {COST_MODEL}.", style="italic"),
    ]
    if report.is_empty:
        return [*parts, Text(document["message"])]
    parts += [lambda: _print_groups(state, report, data, label_widths, formatted),
              _daily_chart(state, report, document),
              _prices_table(report, document)]
    notes = Text(_counts_line(report.total))
    if report.unpriced_models:
        unpriced = ", ".join(model or "(unknown model)" for model in report.unpriced_models)
        notes.append(f"\nUnpriced (tokens shown, cost not counted): {unpriced} — add them with --pricing FILE.",
                     style="yellow")
    return [*parts, notes]


def _print_groups(state: AppState, report: CostReport, data: UsageData, label_widths: dict[str, int],
                  formatted: Iterable[str | tuple[str, ...]] | None = None) -> None:
    """The groups table, drawn in pieces as the groups stream in, every piece with the same column widths."""
    from magent.cli.usage_stream import print_table_in_pieces

    total = report.total
    totals = (("Outputs", f"{total.outputs:,}"), ("Prompt tokens", f"{total.prompt_tokens:,}"),
              ("Completion tokens", f"{total.completion_tokens:,}"), ("Total tokens", f"{total.total_tokens:,}"),
              ("Cost (USD)", _cost_cell(total)))
    # No group exceeds the totals (all measures are sums of non-negative terms), so the footer is the widest
    # number; costs also take "unpriced", "<$0.0001" and, in a partial report, "≥ <$0.0001 (partial)".
    cost_widths = [len(_cost_cell(total)), len("unpriced"), len("<$0.0001")]
    if total.status == PARTIAL:
        cost_widths.append(len("≥ <$0.0001 (partial)"))
    widths = [max(len(heading), len(footer)) for heading, footer in totals[:-1]]
    widths.append(max(len(totals[-1][0]), *cost_widths))
    dim_widths = [max(len(_HEADINGS[dim]), _label_width(dim, report, label_widths)) for dim in report.by]

    def piece(first: bool, last: bool) -> Any:
        from rich.table import Table

        table = Table(title="Tokens and cost" if first else None, title_justify="left", header_style="bold",
                      show_header=first, show_footer=last)
        for n, dim in enumerate(report.by):
            table.add_column(_HEADINGS[dim], footer="Total" if n == 0 else "", no_wrap=dim != "conversation",
                             min_width=dim_widths[n])
        for (heading, footer), width in zip(totals, widths, strict=True):
            table.add_column(heading, footer=footer, justify="right", no_wrap=True, min_width=width)
        return table

    rows = formatted if formatted is not None else (
        (*(_label(dim, value, data, line) for dim, value in zip(report.by, line.key, strict=True)),
         f"{line.outputs:,}", f"{line.prompt_tokens:,}", f"{line.completion_tokens:,}", f"{line.total_tokens:,}",
         _cost_cell(line))
        for line in report.lines
    )
    print_table_in_pieces(state.out, piece, [*dim_widths, *widths], rows)


def formatted_lines(state: AppState, fmt: str) -> Any:
    """What the store should format the groups as for `fmt` (`priced_usage(lines=…)`): "csv", "json", "yaml",
    or the table's box. Off a terminal the table is never wrapped (a line a group); in a terminal a table of
    up to RICH_TABLE_ROWS groups comes as cells, which Rich fits to the terminal, and a longer one as lines,
    printed as wide as its data like kubectl's tables (`| less -S` scrolls them)."""
    from rich.table import Table

    from magent.cli.state import UNBOUNDED_WIDTH
    from magent.cli.usage_stream import body_row_separators
    from magent.services.store.usage_lines import TableBox

    if fmt in ("csv", "json", "yaml"):
        return fmt
    if fmt == "table":  # the box of `_print_groups`' pieces; a terminal's table of a few groups: cells for Rich
        terminal = state.out.width < UNBOUNDED_WIDTH
        return TableBox(*body_row_separators(state.out, Table()), cells_up_to=RICH_TABLE_ROWS if terminal else 0)
    return None


def _label_width(dim: str, report: CostReport, label_widths: dict[str, int]) -> int:
    if dim == "day":
        return len("2026-11-01")
    if dim == "model":
        models = report.total.priced_models | report.total.unpriced_models
        return max((len(model or "(unknown)") for model in models), default=0)
    return label_widths.get(dim, 0)


def _label(dim: str, value: str | date, data: UsageData, line: CostLine) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if dim == "model":
        return value or "(unknown)"
    if not value:
        return "(none)"
    name = line.names.get(dim) or (data.agent_names if dim == "agent" else data.conversation_names).get(value)
    return f"{name} ({value})" if name else value


def _cost_cell(line: CostLine) -> str:
    if line.cost is None:
        return "unpriced"
    text = usd(line.cost)
    return f"≥ {text} (partial)" if line.status == PARTIAL else text


def usd(amount: Decimal) -> str:
    if amount == 0:
        return "$0.00"
    if amount < Decimal("0.0001"):
        return "<$0.0001"
    return f"${amount:,.4f}"


def _daily_chart(state: AppState, report: CostReport, document: dict[str, Any]) -> RenderableType:
    from rich.table import Table

    window = document["window"]
    now = datetime.fromisoformat(window["generated_at"])
    end = min(datetime.fromisoformat(window["until"]), now) if window["until"] else now
    end -= timedelta(microseconds=1)  # the window is half-open
    last = max(end.date(), report.daily[-1].key[0])
    first = max(date.fromisoformat(window["since"][:10]), last - timedelta(days=MAX_CHART_DAYS - 1))
    days = fill_days([line for line in report.daily if line.key[0] >= first], first, last)
    peak = max((line.cost or Decimal(0) for line in days), default=Decimal(0))
    caption = f"the last {MAX_CHART_DAYS} days of the window" if first > report.daily[0].key[0] else None
    table = Table(title="Daily cost (USD)", title_justify="left", header_style="bold", box=None,
                  pad_edge=False, caption=caption, caption_justify="left")
    table.add_column("Day (UTC)", no_wrap=True, min_width=10)
    table.add_column("Cost", justify="right", no_wrap=True, min_width=8)
    table.add_column("", no_wrap=True, overflow="crop")  # the bar gives way first on a narrow terminal
    for line in days:
        bar = _bar(line.cost or Decimal(0), peak, ascii_only=state.plain)
        note = "  + unpriced tokens" if line.unpriced_models else ""
        table.add_row(line.key[0].isoformat(), _cost_cell(line), bar + note)
    return table


def _bar(value: Decimal, peak: Decimal, *, ascii_only: bool) -> str:
    if peak <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / peak * BAR_WIDTH * 8))
    if ascii_only:
        return "#" * max(1, round(eighths / 8))
    full, rest = divmod(int(eighths), 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def _prices_table(report: CostReport, document: dict[str, Any]) -> RenderableType:
    from rich.table import Table

    from magent.cli.render import table_title

    title = f"Prices used (USD per million tokens; from {', '.join(document['price_tables'])})"
    table = Table(title=table_title(title), title_justify="left", header_style="bold")
    for heading in ("Model", "Priced as", "Input", "Output", "Source", "As of"):
        table.add_column(heading, justify="right" if heading in ("Input", "Output") else "left",
                         overflow="fold", no_wrap=heading != "Source")
    for price in document["prices"]:
        table.add_row(price["model"], price["priced_as"], str(price["input_usd_per_million"]),
                      str(price["output_usd_per_million"]), price["source"], price["as_of"])
    for model in report.unpriced_models:
        table.add_row(model or "(unknown)", "unpriced", "—", "—", "no entry in the price table", "")
    return table


def _counts_line(total: CostLine) -> str:
    return (f"Token counts of the {total.outputs:,} model outputs: {total.counted_outputs:,} counted with "
            f"Mistral's tokenizer, {total.estimated_outputs:,} estimated (tokenizer unknown for the model).")
