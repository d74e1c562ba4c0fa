"""`magent key …`: prove that Mistral API keys work, and rotate the one in AWS Secrets Manager."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from magent.cli.render import emit
from magent.cli.state import OutputOption, get_state
from magent.core.errors import UsageError
from magent.core.text import counted

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.core.keycheck import KeyReport
    from magent.services.keys import ResolvedKey

key_app = typer.Typer(
    name="key",
    help="Mistral API keys: verify them where they are stored (env, file, AWS, Kubernetes), and rotate them.",
    no_args_is_help=True,
)

VERIFY_HELP = """Prove that Mistral API keys work: list models, check the configured models, spend one token.

For each key: list the models (count, latency); check that the models of mistral.models (and --model)
exist, warning on '-latest' aliases not listed in mistral.intentional_aliases; run one 1-token chat
completion to prove payment is activated (--no-spend skips it); report the x-ratelimit-* headers.
Several --key-from are verified side by side, in parallel. The key itself is never printed: only
its fingerprint (last 4 characters and a short SHA-256).

Key sources: env:VAR (default env:MISTRAL_API_KEY), file:PATH[#field], aws:SECRET_ID[#field],
k8s:NAMESPACE/SECRET[#KEY].

Exit codes: 0 every key valid; 1 a key is invalid, unpaid, or denied/missing a model; 2 bad input
(malformed --key-from, missing secret, empty key); 3 Mistral unreachable, degraded (5xx) or rate
limited, so a key could not be judged. 1 wins over 3.

\b
Examples:
  magent key verify
  magent key verify --key-from aws:prod/mistral#api_key --key-from env:MISTRAL_API_KEY_NEXT
  magent key verify --no-spend --model mistral-small-2506 -o json
"""

KeyFromOption = Annotated[
    Optional[list[str]],
    typer.Option("--key-from", metavar="SPEC", show_default=False,
                 help="Where the key is: env:VAR, file:PATH[#field], aws:SECRET_ID[#field], "
                      "k8s:NAMESPACE/SECRET[#KEY]. Repeatable "
                      "[default: mistral.key_from, i.e. env:MISTRAL_API_KEY]."),
]
ModelOption = Annotated[
    Optional[list[str]],
    typer.Option("--model", "-m", metavar="MODEL", show_default=False,
                 help="A model that must exist for the key (adds to mistral.models). Repeatable."),
]


@key_app.command("verify", help=VERIFY_HELP)
def verify(
    key_from: KeyFromOption = None,
    no_spend: Annotated[bool, typer.Option("--no-spend", help="Skip the 1-token chat completion.")] = False,
    model: ModelOption = None,
    base_url: Annotated[Optional[str], typer.Option(
        "--base-url", metavar="URL", show_default=False,
        help="Mistral API base URL, without /v1 [env: MAGENT_MISTRAL_URL; default: https://api.mistral.ai].")] = None,
    timeout: Annotated[Optional[float], typer.Option(
        "--timeout", min=0.1, max=3600, metavar="SECONDS", show_default=False,  # max: inf was an OverflowError
        help="Timeout of each API call in seconds [default: mistral.timeout, 30].")] = None,
    output: OutputOption = None,
) -> None:
    from magent.core.keycheck import overall_exit_code
    from magent.core.timeutil import isoformat, utcnow
    from magent.services.mistral.client import normalize_base_url

    state = get_state()
    settings = state.settings.mistral
    url = normalize_base_url(base_url or settings.base_url)
    models = _models([*settings.models, *(model or [])])
    keys = _resolve_keys(state, key_from or settings.key_from)
    reports = _verify(state, url, keys, models, spend=not no_spend, timeout_s=timeout or settings.timeout)
    exit_code = overall_exit_code(reports)
    data = _as_data(url, reports, exit_code, isoformat(utcnow()))
    emit(state, state.output_format(output), data, table=lambda: _table(reports, data))
    raise typer.Exit(exit_code)


def register(app: typer.Typer) -> None:
    from magent.cli.key_rotate import ROTATE_HELP, rotate

    if "rotate" not in {command.name for command in key_app.registered_commands}:
        key_app.command("rotate", help=ROTATE_HELP)(rotate)
    app.add_typer(key_app, name="key")


def _models(names: list[str]) -> list[str]:
    cleaned = [name.strip() for name in names]
    if any(not name for name in cleaned):
        raise UsageError("empty model name", hint="pass --model NAME, e.g. --model mistral-small-2506")
    return list(dict.fromkeys(cleaned))


def _resolve_keys(state: AppState, specs: list[str]) -> list[ResolvedKey]:
    from magent.services.keys import resolve_mistral_keys

    return resolve_mistral_keys(state.settings, list(specs))


def _verify(state: AppState, url: str, keys: list[ResolvedKey], models: list[str], *, spend: bool,
            timeout_s: float) -> list[KeyReport]:
    from magent.core.keycheck import duplicate_warnings, evaluate_key
    from magent.core.redact import fingerprint, mask_url
    from magent.services.mistral.probe import probe_keys

    settings = state.settings.mistral
    with _progress(state, f"verifying {counted(len(keys), 'key')} against {mask_url(url)}"):
        probes = probe_keys(url, [k.key for k in keys], models=models, spend=spend, timeout_s=timeout_s)
    prints = [fingerprint(k.key) for k in keys]
    duplicates = duplicate_warnings(prints, [k.source.spec for k in keys])
    return [
        evaluate_key(k.source.spec, fp, probe, models=models, intentional_aliases=settings.intentional_aliases,
                     warnings=[*k.warnings, *dup])
        for k, fp, probe, dup in zip(keys, prints, probes, duplicates)
    ]


def _progress(state: AppState, message: str) -> Any:
    from contextlib import nullcontext

    return nullcontext() if state.plain else state.err.status(message)


def _as_data(url: str, reports: list[KeyReport], exit_code: int, checked_at: str) -> dict[str, Any]:
    from magent.core.keycheck import summary_line
    from magent.core.redact import mask_url

    return {
        "base_url": mask_url(url),
        "checked_at": checked_at,
        "ok": exit_code == 0,
        "exit_code": exit_code,
        "summary": summary_line(reports),
        "keys": [report.to_dict() for report in reports],
    }


def _table(reports: list[KeyReport], data: dict[str, Any]) -> Any:
    """Rows are checks, columns are keys: old and new keys compare side by side."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from magent.cli.render import table_title
    from magent.core.timeutil import isoformat_seconds

    table = Table(title=table_title(f"Mistral API keys at {data['base_url']}"), title_justify="left",
                  header_style="bold")
    table.add_column("check", style="bold")
    for report in reports:
        table.add_column(Text(report.source), overflow="fold")
    for label, cell in _ROWS:
        table.add_row(label, *(cell(report) for report in reports))
    lines = [_explanation(report) for report in reports]
    checked = isoformat_seconds(data["checked_at"])  # -o json keeps the microseconds
    footer = Text(f"{data['summary']} · exit {data['exit_code']} · {checked}", style="dim")
    return Group(table, *lines, footer)


_VERDICT_STYLE = {0: "bold green", 1: "bold red", 3: "bold yellow"}


def _cell(text: str, style: str = "") -> Any:
    """A table cell as Text (never parsed as Rich markup: server messages may contain brackets), masked."""
    from rich.text import Text

    from magent.core.redact import SECRETS

    return Text(SECRETS.mask(text), style=style)


def _verdict_cell(report: KeyReport) -> Any:
    status = f" ({report.http_status})" if report.http_status else ""
    return _cell(report.label + status, _VERDICT_STYLE.get(report.exit_code, ""))


def _models_cell(report: KeyReport) -> Any:
    latency = f" in {report.models_latency_ms:.0f} ms" if report.models_latency_ms is not None else ""
    if report.models_count is None:
        return _cell(f"listing failed{latency}", "red")
    return _cell(f"{report.models_count} listed{latency}")


def _checks_cell(report: KeyReport) -> Any:
    if not report.model_checks:
        return _cell("none configured" if report.models_count is not None else "-", "dim")
    lines = []
    for check in report.model_checks:
        now = f" → {check.resolves_to}" if check.resolves_to else ""
        lines.append(f"{check.model}{now}: {check.status.replace('_', ' ')}")
    failed = any(check.status != "ok" for check in report.model_checks)
    return _cell("\n".join(lines), "red" if failed else "")


def _payment_cell(report: KeyReport) -> Any:
    if report.payment == "activated":
        return _cell(f"activated (1 token on {report.completion_model}, {report.completion_latency_ms:.0f} ms)")
    return {
        "not_activated": _cell("NOT activated", "bold red"),
        "not_checked": _cell("not checked (--no-spend)", "dim"),
    }.get(report.payment, _cell("unknown", "dim"))


def _limits_cell(report: KeyReport) -> Any:
    limits = report.rate_limits or {}
    parts = []
    for label, remaining, limit in (
        ("req/min", limits.get("remaining_req_minute"), limits.get("limit_req_minute")),
        ("tokens/min", limits.get("remaining_tokens_minute"), limits.get("limit_tokens_minute")),
    ):
        if limit is not None or remaining is not None:
            parts.append(f"{label} {_n(remaining)} left of {_n(limit)}")
    if report.retry_after_s is not None:
        parts.append(f"retry after {report.retry_after_s:g} s")
    return _cell("\n".join(parts) if parts else "not reported", "" if parts else "dim")


def _warnings_cell(report: KeyReport) -> Any:
    return _cell("\n".join(report.warnings), "yellow") if report.warnings else _cell("none", "dim")


def _n(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


_ROWS = (
    ("fingerprint", lambda r: _cell(r.fingerprint)),
    ("verdict", _verdict_cell),
    ("models", _models_cell),
    ("configured models", _checks_cell),
    ("payment", _payment_cell),
    ("rate limits", _limits_cell),
    ("warnings", _warnings_cell),
)


def _explanation(report: KeyReport) -> Any:
    from rich.text import Text

    from magent.core.redact import SECRETS

    line = Text()
    line.append(f"{report.fingerprint} {report.label}", style=_VERDICT_STYLE.get(report.exit_code, ""))
    line.append(SECRETS.mask(f" ({report.source}): {report.explanation}"))
    if report.hint:
        line.append(SECRETS.mask(f"\n  Hint: {report.hint}"), style="dim")
    return line
