"""Import the official kubernetes client without its 800-module package initialisers.

`import kubernetes` runs `kubernetes/__init__.py`, which imports every sub-package, and
`kubernetes/client/__init__.py`, which imports every API class and all ~700 models: 0.5-0.7 s of a
`magent rollback` that kubectl finishes in about that time. A command that talks to the API through a
handful of API classes and raw JSON (`Kube.call` never deserialises into models) needs a few dozen of
those modules.

`install()` puts the four heavy packages (`kubernetes`, `kubernetes.client`, `kubernetes.client.api`,
`kubernetes.client.models`) into `sys.modules` as the same package objects the import system would make,
with their `__init__` not yet run and a module `__getattr__` (PEP 562) that resolves a name on first use:
one of the names the real `__init__` imports (read from its `from X import Y` lines) loads just that
module; a submodule loads as a submodule; anything else runs the real `__init__` into the package, once,
so the package then holds everything it always held. Code using the SDK sees the same classes and
modules either way. It does nothing once the kubernetes package is imported the usual way.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
from types import ModuleType
from typing import Any

LAZY_PACKAGES = ("kubernetes", "kubernetes.client", "kubernetes.client.api", "kubernetes.client.models")
_FROM_IMPORT = re.compile(r"^from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\w+(?:[ \t]*,[ \t]*\w+)*)[ \t]*$", re.MULTILINE)
_DUNDER_ASSIGNMENT = re.compile(r"^(__\w+__)[ \t]*=", re.MULTILINE)
_LOCK = threading.RLock()
_COMPLETE = "__magent_init_done__"


def install() -> bool:
    """Make the heavy kubernetes packages lazy; False (and nothing done) when kubernetes is already imported."""
    with _LOCK:
        if "kubernetes" in sys.modules:
            return False
        if importlib.util.find_spec("kubernetes") is None:
            return False
        for name in LAZY_PACKAGES:
            _install_package(name)
        return True


def is_lazy(name: str) -> bool:
    """Whether the package `name` is one of ours whose real `__init__` has not run (for tests)."""
    module = sys.modules.get(name)
    return module is not None and "__getattr__" in vars(module) and not vars(module).get(_COMPLETE)


def _install_package(name: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    with open(spec.origin, encoding="utf-8") as handle:
        source = handle.read()
    exports = _exports(name, source)
    dunders = frozenset(_DUNDER_ASSIGNMENT.findall(source))
    package.__getattr__ = _resolver(package, exports, dunders)  # type: ignore[method-assign]
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)


def _exports(package: str, source: str) -> dict[str, tuple[str, str]]:
    """{name: (module, name in that module)} for each `from M import A, B` line of the package's `__init__`."""
    exports: dict[str, tuple[str, str]] = {}
    for module, names in _FROM_IMPORT.findall(source):
        if module == "__future__":
            continue
        absolute = importlib.util.resolve_name(module, package) if module.startswith(".") else module
        for item in names.split(","):
            exports[item.strip()] = (absolute, item.strip())
    return exports


def _resolver(package: ModuleType, exports: dict[str, tuple[str, str]], dunders: frozenset[str]) -> Any:
    name = package.__name__

    def __getattr__(attr: str) -> Any:
        # the import system's own per-module locks guard the first two cases; the lock, the one-time full run
        if attr in exports:
            source, original = exports[attr]
            value = (importlib.import_module(f"{source}.{original}") if source == name else
                     getattr(importlib.import_module(source), original))
            setattr(package, attr, value)
            return value
        if attr.startswith("__") and attr not in dunders | {"__all__"}:
            # probes such as __wrapped__ or __file__-likes: the real `__init__` does not set them either
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        if not attr.startswith("__") and importlib.util.find_spec(f"{name}.{attr}") is not None:
            return importlib.import_module(f"{name}.{attr}")
        with _LOCK:
            if not vars(package).get(_COMPLETE):
                setattr(package, _COMPLETE, True)
                package.__spec__.loader.exec_module(package)  # type: ignore[union-attr]
        if attr in vars(package):
            return vars(package)[attr]
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    return __getattr__
