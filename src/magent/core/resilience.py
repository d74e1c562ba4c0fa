"""Resilience of a Python application's Mistral calls, read from its source with `ast` (pure, no I/O).

Per file, `analyse_python` finds:

- every `Mistral(...)` client (imported from `mistralai` or `mistralai.client`, under any alias, or called as
  `mistralai.Mistral(...)`) that lacks `retry_config=` (the SDK then does not retry 429/5xx with backoff) or
  a timeout (`timeout_ms=`, or its own `client=` httpx client, which carries one); `retry_config=None` and
  `RetryConfig("none", ...)` count as missing. A call with `**kwargs` may carry both: it is not judged.
- logging that puts the `mistralai`, `httpx` or `httpcore` loggers at DEBUG (`setLevel`, dictConfig
  literals, a `MISTRAL_DEBUG` environment variable): at DEBUG they log every request, body included.
  A root logger at DEBUG (`basicConfig(level=DEBUG)`) is reported at a lower severity.
- evidence of a circuit breaker, fallback or backoff: imports of pybreaker, circuitbreaker, purgatory,
  aiobreaker, tenacity, backoff, stamina; classes or functions named like *circuit*, *breaker*, *fallback*.

`analyse_python` never raises: a file that does not parse is one `syntax-error` issue.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from magent.core.pyast import attribute_chain

CLIENT_PATHS = {"mistralai.Mistral", "mistralai.client.Mistral", "mistralai.client.sdk.Mistral"}
CLIENT_MODULES = {"mistralai", "mistralai.client", "mistralai.client.sdk"}
NOISY_LOGGERS = ("mistralai", "httpx", "httpcore")
BREAKER_MODULES = {"pybreaker": "circuit breaker", "circuitbreaker": "circuit breaker",
                   "purgatory": "circuit breaker", "aiobreaker": "circuit breaker",
                   "tenacity": "backoff", "backoff": "backoff", "stamina": "backoff"}
_NAME_EVIDENCE = (("circuit", "circuit breaker"), ("breaker", "circuit breaker"), ("fallback", "fallback"))
_RETRY_HINT = 'use mistralai.client.utils.RetryConfig("backoff", BackoffStrategy(...), True)'


@dataclass(frozen=True)
class ResilienceIssue:
    rule: str  # retry-config | timeout | debug-logging | root-debug-logging | syntax-error
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    severity: str | None = None  # lower than the item's for root DEBUG and syntax errors


@dataclass(frozen=True)
class Evidence:
    kind: str  # circuit breaker | fallback | backoff
    what: str  # `import pybreaker`, `class CircuitBreaker`
    line: int


@dataclass
class FileAnalysis:
    parsed: bool = True
    clients: int = 0
    issues: list[ResilienceIssue] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)


def analyse_python(text: str) -> FileAnalysis:
    try:
        tree = ast.parse(text)
        nodes = list(ast.walk(tree))
    except SyntaxError as exc:
        return FileAnalysis(parsed=False, issues=[ResilienceIssue(
            "syntax-error", f"cannot parse Python: {exc.msg}", exc.lineno, exc.offset, "info")])
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return FileAnalysis(parsed=False, issues=[ResilienceIssue(
            "syntax-error", f"cannot parse Python: {type(exc).__name__}", severity="info")])
    names = _Names.collect(nodes)
    analysis = FileAnalysis(evidence=_evidence(nodes))
    for node in nodes:
        if isinstance(node, ast.Call):
            if names.is_client(node.func):
                analysis.clients += 1
                analysis.issues.extend(_client_issues(node))
            analysis.issues.extend(_logging_call_issues(node, names))
        elif isinstance(node, ast.Dict):
            analysis.issues.extend(_dict_config_issues(node))
        elif isinstance(node, ast.Assign):
            analysis.issues.extend(_environ_issues(node))
    analysis.issues.sort(key=lambda issue: (issue.line or 0, issue.column or 0))  # walk order is breadth-first
    return analysis


def _literal(node: ast.AST | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


@dataclass
class _Names:
    """What the module's imports bind: Mistral classes, module aliases, logging helpers, logger variables."""

    classes: set[str] = field(default_factory=set)
    modules: dict[str, str] = field(default_factory=dict)  # local name -> dotted module
    loggers: dict[str, str] = field(default_factory=dict)  # variable -> logger name (`log = getLogger("httpx")`)

    @classmethod
    def collect(cls, nodes: list[ast.AST]) -> _Names:
        names = cls()
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    names.modules[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    local = alias.asname or alias.name
                    if node.module in CLIENT_MODULES and alias.name == "Mistral":
                        names.classes.add(local)
                    names.modules[local] = f"{node.module}.{alias.name}"
        for node in nodes:  # after the imports: `getLogger` must be known
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                logger = names.logger_of(node.value)
                for target in node.targets:
                    if logger is not None and isinstance(target, ast.Name):
                        names.loggers[target.id] = logger
        return names

    def resolve(self, node: ast.AST) -> str | None:
        parts = attribute_chain(node)
        if not parts or parts[0] not in self.modules:
            return None
        return ".".join([self.modules[parts[0]], *parts[1:]])

    def is_client(self, func: ast.AST) -> bool:
        if isinstance(func, ast.Name) and func.id in self.classes:
            return True
        return self.resolve(func) in CLIENT_PATHS

    def logger_of(self, call: ast.Call) -> str | None:
        """The logger name `getLogger(...)` returns ('' for the root), or None if this is no such call."""
        if self.resolve(call.func) != "logging.getLogger":
            return None
        name = _literal(call.args[0]) if call.args else ""
        if not isinstance(name, str):
            return None  # a computed name: nothing to say
        return "" if name == "root" else name


def _client_issues(call: ast.Call) -> list[ResilienceIssue]:
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    if any(kw.arg is None for kw in call.keywords):
        return []  # `**options` may carry retry_config and timeout_ms
    where = {"line": call.lineno, "column": call.col_offset + 1}
    issues = []
    retry = keywords.get("retry_config")
    if retry is None:
        issues.append(ResilienceIssue("retry-config", f"Mistral client without retry_config ({_RETRY_HINT}): "
                                      "429 and 5xx answers are not retried with backoff", **where))
    elif _disables_retries(retry):
        issues.append(ResilienceIssue("retry-config", f"Mistral client with retries turned off ({_RETRY_HINT})",
                                      **where))
    timeout = keywords.get("timeout_ms")
    if (timeout is None or _literal(timeout) is None and isinstance(timeout, ast.Constant)) and not (
            "client" in keywords or "async_client" in keywords):
        issues.append(ResilienceIssue("timeout", "Mistral client without timeout_ms= (e.g. timeout_ms=30_000): "
                                      "a hung request holds its worker forever", **where))
    return issues


def _disables_retries(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    if isinstance(node, ast.Call):
        strategy = node.args[0] if node.args else next(
            (kw.value for kw in node.keywords if kw.arg == "strategy"), None)
        return _literal(strategy) == "none"
    return False


def _debug_level(node: ast.AST | None) -> str | None:
    """'DEBUG' / 'defaults to DEBUG' when the level expression is DEBUG, else None."""
    if node is None:
        return None
    if isinstance(node, ast.Attribute) and node.attr == "DEBUG" or isinstance(node, ast.Name) and node.id == "DEBUG":
        return "DEBUG"
    value = _literal(node)
    if isinstance(value, str) and value.strip().upper() == "DEBUG":
        return "DEBUG"
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 10:
        return "DEBUG"
    if isinstance(node, ast.Call) and attribute_chain(node.func)[-1:] in (["getenv"], ["get"]) and len(node.args) >= 2:
        return "defaults to DEBUG" if _debug_level(node.args[1]) else None
    return None


def _noisy(logger: str) -> bool:
    return any(logger == name or logger.startswith(f"{name}.") for name in NOISY_LOGGERS)


def _logger_issue(logger: str, how: str, node: ast.AST, via: str) -> ResilienceIssue:
    where = {"line": getattr(node, "lineno", None), "column": getattr(node, "col_offset", -1) + 1}
    if logger:
        return ResilienceIssue("debug-logging", f"logger {logger!r} {how} ({via}): at DEBUG it logs every request "
                               "and its body; keep it at INFO or above in production", **where)
    return ResilienceIssue("root-debug-logging", f"root logger {how} ({via}): mistralai and httpx inherit it "
                           "and log every request; use INFO in production", severity="info", **where)


def _logging_call_issues(call: ast.Call, names: _Names) -> list[ResilienceIssue]:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "setLevel" and call.args:
        receiver = func.value
        if isinstance(receiver, ast.Call):
            logger = names.logger_of(receiver)
        else:
            logger = names.loggers.get(receiver.id) if isinstance(receiver, ast.Name) else None
        how = _debug_level(call.args[0])
        if logger is not None and how and (logger == "" or _noisy(logger)):
            return [_logger_issue(logger, f"set to {how}" if how == "DEBUG" else how, call, "setLevel")]
    if names.resolve(func) == "logging.basicConfig":
        level = next((kw.value for kw in call.keywords if kw.arg == "level"), None)
        how = _debug_level(level)
        if how:
            return [_logger_issue("", f"at {how}" if how == "DEBUG" else how, call, "basicConfig")]
    target = attribute_chain(func)
    if target[-2:] in (["environ", "setdefault"], ["os", "putenv"]) and call.args:
        if _literal(call.args[0]) == "MISTRAL_DEBUG":
            return [_mistral_debug_issue(call)]
    return []


def _dict_get(node: ast.Dict, key: str) -> ast.AST | None:
    return next((value for k, value in zip(node.keys, node.values, strict=False) if _literal(k) == key), None)


def _dict_config_issues(node: ast.Dict) -> list[ResilienceIssue]:
    """`{"loggers": {"httpx": {"level": "DEBUG"}}, "root": {"level": "DEBUG"}}` (a dictConfig literal)."""
    issues = []
    loggers = _dict_get(node, "loggers")
    if isinstance(loggers, ast.Dict):
        for key, value in zip(loggers.keys, loggers.values, strict=False):
            name = _literal(key)
            if isinstance(name, str) and isinstance(value, ast.Dict):
                how = _debug_level(_dict_get(value, "level"))
                if how and (_noisy(name) or name in ("", "root")):
                    issues.append(_logger_issue("" if name == "root" else name, f"at {how}", value, "dictConfig"))
    root = _dict_get(node, "root")
    if isinstance(root, ast.Dict) and _dict_get(node, "version") is not None:  # `version` marks a dictConfig
        how = _debug_level(_dict_get(root, "level"))
        if how:
            issues.append(_logger_issue("", f"at {how}", root, "dictConfig"))
    return issues


def _mistral_debug_issue(node: ast.AST) -> ResilienceIssue:
    return ResilienceIssue("debug-logging", "MISTRAL_DEBUG set: the SDK then turns on DEBUG logging of every "
                           "request and its body; never set it in production",
                           getattr(node, "lineno", None), getattr(node, "col_offset", -1) + 1)


def _environ_issues(node: ast.Assign) -> list[ResilienceIssue]:
    """`os.environ["MISTRAL_DEBUG"] = "1"` (any non-empty value turns it on)."""
    for target in node.targets:
        if (isinstance(target, ast.Subscript) and attribute_chain(target.value)[-1:] == ["environ"]
                and _literal(target.slice) == "MISTRAL_DEBUG" and _literal(node.value) != ""):
            return [_mistral_debug_issue(node)]
    return []


def _evidence(nodes: list[ast.AST]) -> list[Evidence]:
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
        else:
            modules = []
        for module in modules:
            top = module.split(".")[0]
            if top in BREAKER_MODULES:
                found.append(Evidence(BREAKER_MODULES[top], f"import {module}", node.lineno))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            lowered = node.name.lower()
            kind = next((kind for word, kind in _NAME_EVIDENCE if word in lowered), None)
            if kind:
                keyword = "class" if isinstance(node, ast.ClassDef) else "def"
                found.append(Evidence(kind, f"{keyword} {node.name}", node.lineno))
    return found
