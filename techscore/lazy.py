"""The one way a techscore package exports names without importing what they need until they are used.

A package declares ``name -> "module"`` (the name is looked up in that module), ``name -> "module:attr"`` or
``name -> "module:"`` (the module itself) and
installs the returned `__getattr__` and `__dir__`; `import techscore` then stays light (no pandas, LightGBM,
numba or matplotlib until a name that needs them is touched). `callable_module` lets a package whose name is
also its main verb (`techscore.explain`) be called as that function, so the package never hides the function.

>>> getattr_, dir_ = lazy_exports("demo", {"sqrt": "math", "tau": "math:tau"})
>>> getattr_("sqrt")(9.0), getattr_("tau") > 6
(3.0, True)
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["callable_module", "lazy_exports"]


def _resolve(target: str, name: str) -> Any:
    module, colon, attr = target.partition(":")
    if colon and not attr:  # "package:": the module itself (a callable package, `techscore.explain`)
        return import_module(module)
    return getattr(import_module(module), attr or name)


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package` exporting `exports` (name -> "module" or "module:attr")."""
    table = dict(exports)

    def __getattr__(name: str) -> Any:
        if name in table:
            return _resolve(table[name], name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*table, *vars(sys.modules[package])} if package in sys.modules else table)

    return __getattr__, __dir__


def callable_module(package: str, target: str) -> None:
    """Make module `package` callable as the function `target` ("module:attr"), e.g. ``techscore.explain(model,
    X)`` is ``techscore.explain.shap_values.explain(model, X)``."""
    module = sys.modules[package]

    class _CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return _resolve(target, "")(*args, **kwargs)

    _CallableModule.__call__.__doc__ = f"Call `{target.replace(':', '.')}`."
    module.__class__ = _CallableModule
