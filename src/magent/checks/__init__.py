"""Preflight check types, registered by name (as key sources are): a new check is one file in this package.

    # src/magent/checks/k8s_probes.py
    from magent.checks import CheckContext, CheckType, register_check
    from magent.core.preflight import CheckResult

    def run(ctx: CheckContext) -> CheckResult:
        ...
        return CheckResult.passed("liveness and readiness probes on every serving container")

    register_check(CheckType("k8s.probes", run, summary="Liveness and readiness probes on serving containers"))

`load_builtin_checks()` imports every module of this package, which registers its types. A check type may
declare a pydantic model for its `params:` (validated when the checklist loads: a bad parameter is exit 2
naming the file, line and item). Checks import their SDKs inside `run`, and raise MagentErrors for what
they cannot do: the engine turns those into `error` (Unreachable → exit 3), never into `fail`.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from magent.core.checklist import ChecklistItem
from magent.core.preflight import CheckResult

if TYPE_CHECKING:
    from magent.core.config import Settings

CheckFn = Callable[["CheckContext"], CheckResult]


@dataclass(frozen=True)
class CheckType:
    name: str
    run: CheckFn
    summary: str  # one line: what the check proves (SARIF rule description, `preflight checks`)
    params: type[BaseModel] | None = None  # the model of the item's `params:`
    security: bool = False  # a security finding (SARIF security-severity)


CHECKS: dict[str, CheckType] = {}
_LOADED = False
_LOAD_LOCK = threading.Lock()


def register_check(check: CheckType) -> None:
    """Add (or replace) a check type."""
    CHECKS[check.name] = check


def load_builtin_checks() -> dict[str, CheckType]:
    global _LOADED
    with _LOAD_LOCK:
        if not _LOADED:
            for module in pkgutil.iter_modules(__path__):
                if not module.name.startswith("_"):
                    importlib.import_module(f"{__name__}.{module.name}")
            _LOADED = True
    return CHECKS


def validate_item(item: ChecklistItem) -> str | None:
    """A problem with the item's check type or parameters, or None (used when a checklist loads)."""
    checks = load_builtin_checks()
    check = checks.get(item.check)
    if check is None:
        from difflib import get_close_matches

        close = get_close_matches(item.check, [*checks, "manual"], n=1)
        return f"unknown check type {item.check!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if check.params is None:
        return f"check {item.check} takes no params" if item.params else None
    try:
        check.params.model_validate(item.params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = "unknown parameter" if first["type"] == "extra_forbidden" else first["msg"]
        return f"params.{where}: {message}" if where else f"params: {message}"
    return None


@dataclass
class PreflightOptions:
    """What the user pointed preflight at (flags and configuration); every field is optional."""

    repo: Path | None = None
    manifests: list[Path] = field(default_factory=list)
    deployment: str | None = None
    namespace: str | None = None
    model_config: list[str] = field(default_factory=list)  # globs, relative to the repo
    tests_cmd: str | None = None
    baseline: Path | None = None
    verify_keys: bool = False  # code.no-hardcoded-key --verify
    health_url: str | None = None
    staging_url: str | None = None
    secret_id: str | None = None  # the Secrets Manager secret holding the key
    key_from: list[str] = field(default_factory=list)
    timeout_s: float = 30.0  # per check, unless the item says otherwise


class CheckContext:
    """What one check sees: the settings, the options, its item and its parsed params, and shared lazy
    resources (one Kubernetes connection, one resolved key, parsed manifests) built once per run, thread-safely."""

    def __init__(self, settings: Settings, options: PreflightOptions, shared: SharedResources | None = None,
                 item: ChecklistItem | None = None, params: BaseModel | None = None) -> None:
        self.settings = settings
        self.options = options
        self.shared = shared or SharedResources()
        self.item = item
        self.params = params

    def for_item(self, item: ChecklistItem) -> CheckContext:
        check = CHECKS.get(item.check)
        params = check.params.model_validate(item.params) if check and check.params else None
        return CheckContext(self.settings, self.options, self.shared, item, params)

    def once(self, name: str, build: Callable[[], Any]) -> Any:
        """`build()` once per run under `name` (its exception, too, is remembered and raised to every caller)."""
        return self.shared.once(name, build)


class SharedResources:
    def __init__(self) -> None:
        self._values: dict[str, tuple[bool, Any]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.closers: list[Callable[[], None]] = []

    def once(self, name: str, build: Callable[[], Any]) -> Any:
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._values:
                try:
                    self._values[name] = (True, build())
                except Exception as exc:  # noqa: BLE001 - remembered, re-raised to every caller
                    self._values[name] = (False, exc)
            ok, value = self._values[name]
        if not ok:
            raise value
        return value

    def close(self) -> None:
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:  # noqa: BLE001 - best effort at the end of a run
                pass
