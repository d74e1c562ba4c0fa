"""How deploy and rollback events are shown: JSON lines on stdout (-o json), plain lines on stderr (CI logs,
NO_COLOR, pipes), or a live Rich view on stderr (a terminal): step, weight, pods, each metric and its verdict."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from typing import Any

from magent.cli.state import AppState, OutputFormat
from magent.core.redact import SECRETS
from magent.core.text import counted

_VERDICT_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow"}


def _step(record: dict[str, Any]) -> str:
    weight = record.get("weight")
    if record.get("step") is None or weight is None:
        return ""
    if weight == 100:
        return "promotion"
    total = f"/{record['steps']}" if record.get("steps") else ""
    return f"step {record['step']}{total} ({weight}%)"


def describe(record: dict[str, Any]) -> str:
    """One human line for an event (the plain view, and the log above the live view)."""
    kind, where = record["event"], _step(record)
    text = {
        "plan": lambda r: f"plan for {r['deployment']}: {r.get('summary', '')}",
        "started": lambda r: f"deploy {r['deploy_id']} started: {r.get('previous_image')} → {r['image']}",
        "resumed": lambda r: f"deploy {r['deploy_id']} resumed ({r.get('phase')}) with {r['image']}",
        "canary_scaled": lambda r: (
            f"{where}: {counted(r['canary_replicas'], 'canary task')} next to {r['stable_replicas']} stable, "
            f"{r['share']:g}% of requests (listener weights)" if r.get("traffic") == "weighted" else
            f"{where}: {counted(r['canary_replicas'], 'canary pod')} next to {r['stable_replicas']} "
            f"stable ({r['share']}% of pods)"),
        "analysis": lambda r: (f"{where}: analysis {r['verdict'].upper()} → {r['action']}: "
                               f"{r['summary'].removeprefix(r['verdict'] + ': ')}"),
        "step_passed": lambda r: f"{where} passed",
        "canary_scaled_to_zero": lambda r: f"canary scaled to 0 ({r.get('seconds')} s)",
        "aborted": lambda r: f"ABORTED: {r.get('reason')}",
        "promoting": lambda r: f"promoting {r['image']} to {r['deployment']}",
        "rollout": lambda r: r.get("message", ""),
        "promoted": lambda r: f"PROMOTED: {r['deployment']} runs {r['image']}",
        "promotion_failed": lambda r: f"PROMOTION FAILED: {r.get('reason')}",
        "interrupted": lambda r: "interrupted",
        "api_unreachable": lambda r: (f"Kubernetes API unreachable, retrying for {r.get('retry_window_s'):g}s: "
                                      f"{r.get('error')}"),
        "api_recovered": lambda r: f"Kubernetes API answers again (after {r.get('seconds')} s)",
        "preempted": lambda r: f"{r.get('phase')} by {r.get('by')}: {r.get('reason')}",
        "rollback_requested": lambda r: f"rollback request sent ({r.get('action')}, {r.get('seconds')} s)",
        "rolled_back": lambda r: f"ROLLED BACK: {r['deployment']} runs {', '.join(r.get('images') or [])}",
        "rollback_skipped": lambda r: r.get("message", "skipped"),
    }.get(kind, lambda r: kind)(record)
    where_deployed = f"{record['context']}/{record['deployment']}" if record.get("context") else record["deployment"]
    return SECRETS.mask(f"{record['at']} {where_deployed}: {text}")


def kv_table(title: str | None, rows: list[tuple[str, Any]]) -> Any:
    """A two-column key/value table without a header row."""
    from rich.table import Table

    from magent.cli.render import table_title

    table = Table(title=table_title(title), title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, SECRETS.mask(_kv_cell(value)))
    return table


def _kv_cell(value: Any) -> str:
    """A value as -o yaml words it (`true`, not Python's `True`); `-` for nothing."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "-" if value in (None, "") else str(value)


# events after which no canary pod serves: the canary was scaled to zero, or removed by the promotion
_CANARY_GONE = ("canary_scaled_to_zero", "promoted")


def update_panel(panel: dict[str, Any], record: dict[str, Any]) -> None:
    """Fold an event into the live view's fields (the last value of each wins)."""
    panel.update({k: v for k, v in record.items() if v is not None})
    if record["event"] in _CANARY_GONE:
        panel["canary_replicas"] = 0


class EventView:
    """Receives every event; JSON lines on stdout for -o json, and progress on stderr (plain or live)."""

    def __init__(self, state: AppState, fmt: OutputFormat) -> None:
        self.state, self.fmt = state, fmt
        self.events: list[dict[str, Any]] = []
        self._live: Any = None
        self._on_screen = ExitStack()  # the live view, and the terminal's ^C echo off while it shows
        self._panel: dict[str, Any] = {}

    def __enter__(self) -> EventView:
        if not self.state.plain:
            from rich.live import Live

            from magent.cli.interrupts import quiet_control_echo

            self._on_screen.enter_context(quiet_control_echo())
            self._live = self._on_screen.enter_context(
                Live(self._render(), console=self.state.err, auto_refresh=False, transient=False))
        return self

    def __exit__(self, *exc: object) -> None:
        self._live = None
        self._on_screen.close()

    def __call__(self, record: dict[str, Any]) -> None:
        self.events.append(record)
        if self.fmt is OutputFormat.json:
            print(SECRETS.mask(json.dumps(record, default=str, separators=(",", ":"))), flush=True)
        if self._live is None:
            print(describe(record), file=sys.stderr, flush=True)
            return
        update_panel(self._panel, record)
        self._live.console.print(describe(record), markup=False, highlight=False)
        self._live.update(self._render(), refresh=True)

    def _render(self) -> Any:
        from rich.console import Group
        from rich.table import Table

        p = self._panel
        head = Table.grid(padding=(0, 2))
        image = p.get("image") or ", ".join(p.get("images") or [])  # a rollback's events name images
        head.add_row("deployment", f"{p.get('namespace', '')}/{p.get('deployment', '')}", "image", image or "-")
        step = _step(p)
        head.add_row(*(("step", step) if step else ()), "phase", p.get("event", "starting"))
        if "canary_replicas" in p or "stable_replicas" in p:  # a rollback counts no pods: no row of dashes
            head.add_row("canary pods", f"{p.get('canary_replicas', '-')}", "stable pods",
                         f"{p.get('stable_replicas', '-')}")
        metrics = Table(title="last analysis", title_justify="left", header_style="bold")
        for column in ("provider", "metric", "value", "threshold", "verdict"):
            metrics.add_column(column)
        for m in p.get("metrics") or []:
            style = _VERDICT_STYLE.get(m["verdict"], "")
            metrics.add_row(m["provider"], m["name"], SECRETS.mask(m.get("detail") or ""), m.get("threshold") or "",
                            f"[{style}]{m['verdict']}[/]")
        return Group(head, metrics) if p.get("metrics") else head
