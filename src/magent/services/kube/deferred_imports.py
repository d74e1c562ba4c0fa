"""Import the kubernetes client's connection modules without the libraries they only need for rare paths.

`kubernetes.config.kube_config` imports `oauthlib.oauth2` and `requests_oauthlib` (73 + 5 modules) at its top,
for one thing: refreshing an expired OIDC token. `kubernetes.client.api_client` imports `dateutil.parser` (and
with it `dateutil.tz`), for one thing: turning dates into model objects, which `Kube.call` never asks for (it
reads raw JSON). `kubernetes.client.rest` imports `requests` (and http.cookiejar, charset_normalizer...), for
one function: matching a proxy's no_proxy list. Together 0.1 s of every `magent rollback` before its request
is sent.

`connection_modules()` imports those two modules with placeholders in `sys.modules` for the rare libraries,
then takes the placeholders out again. What the two modules bound keeps working: the names they imported
(`OAuth2Session`, `parse`) are functions that import the real library on their first call and hand it over;
the `oauthlib` they hold resolves its attributes from the real package, imported then. Any other code
importing these libraries, afterwards, gets the real ones. Nothing is deferred when the libraries or the two
modules are already imported.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

# module → the names the kubernetes modules import from it (`from M import NAME`), () for `import M`; in groups
# deferred together or not at all (a package and the submodule imported from it)
DEFERRED: tuple[dict[str, tuple[str, ...]], ...] = (
    {"oauthlib": (), "oauthlib.oauth2": ()},
    {"requests_oauthlib": ("OAuth2Session",)},
    {"dateutil.parser": ("parse",)},
    {"requests": (), "requests.utils": ("should_bypass_proxies",)},  # rest.py, for a proxy's no_proxy list only
)
CONNECTION_MODULES = ("kubernetes.client.api_client", "kubernetes.config.kube_config")
_LOCK = threading.Lock()


class Placeholder(ModuleType):
    """Stands for module `name` while the connection modules import; its attributes come from the real one."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        real = real_module(self.__name__)
        try:
            return getattr(real, attr)
        except AttributeError:  # a subpackage its `__init__` does not import (oauthlib.oauth2)
            return real_module(f"{self.__name__}.{attr}")


def real_module(name: str) -> ModuleType:
    """The real module `name`, imported now if need be (a placeholder still registered is taken out first)."""
    with _LOCK:
        if isinstance(sys.modules.get(name), Placeholder):
            del sys.modules[name]
    return importlib.import_module(name)


def _deferred_callable(module: str, name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(real_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name}, imported on the first call."
    return call


def connection_modules() -> None:
    """Import `CONNECTION_MODULES` with the rare libraries left out (see the module docstring)."""
    if any(name in sys.modules for name in CONNECTION_MODULES):
        for name in CONNECTION_MODULES:  # imported already, or half: nothing to win, and nothing to risk
            importlib.import_module(name)
        return
    placeholders: dict[str, Placeholder] = {}
    with _LOCK:
        for group in DEFERRED:
            if any(name in sys.modules for name in group):
                continue  # imported already: the real one serves
            for name, names in group.items():
                placeholder = Placeholder(name)
                for attr in names:
                    setattr(placeholder, attr, _deferred_callable(name, attr))
                placeholders[name] = sys.modules[name] = placeholder
    try:
        for name in CONNECTION_MODULES:
            importlib.import_module(name)
    finally:
        with _LOCK:
            for name, placeholder in placeholders.items():
                if sys.modules.get(name) is placeholder:
                    del sys.modules[name]
