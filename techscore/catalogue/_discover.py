"""Find the catalogue's functions: import every `features/*.py` of a workspace by path and collect the marked ones.

`techscore` never imports the workspace's `features/` package by name (the workspace may be a bank's own folder
beside the installed toolkit). The folder is loaded as a package under a private name derived from its path, so
its modules may import each other relatively (`from ._common import latest_year`), and loading two workspaces
in one process never mixes them.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from techscore.catalogue.meta import FeatureMeta, GroupMeta, NodeMeta
from techscore.exceptions import CatalogueError


@dataclass(frozen=True)
class Definition:
    """One marked function: a feature (model input) or a helper node."""

    id: str
    fn: Callable
    module: str
    """File the function is defined in, relative to the workspace (`features/rd.py`)."""
    meta: FeatureMeta | NodeMeta

    @property
    def is_feature(self) -> bool:
        return isinstance(self.meta, FeatureMeta)


def _package_name(folder: Path) -> str:
    return "_techscore_features_" + hashlib.sha1(str(folder).encode()).hexdigest()[:12]


def _import_package(folder: Path) -> tuple[str, list[ModuleType]]:
    """Import `folder` as a fresh package and each of its `*.py` modules (sorted by name) by path."""
    package = _package_name(folder)
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]  # a fresh load picks up edits to the catalogue
    init = folder / "__init__.py"
    if init.exists():
        spec = importlib.util.spec_from_file_location(package, init, submodule_search_locations=[str(folder)])
    else:  # a plain folder: a package without an __init__ of its own
        spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]
    root = importlib.util.module_from_spec(spec)
    sys.modules[package] = root
    if spec.loader is not None:
        _exec(spec.loader, root, init)
    modules = []
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        name = f"{package}.{path.stem}"
        if name in sys.modules:  # already imported by a sibling's relative import
            modules.append(sys.modules[name])
            continue
        mspec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(mspec)
        sys.modules[name] = module
        _exec(mspec.loader, module, path)
        modules.append(module)
    return package, modules


def _exec(loader, module: ModuleType, path: Path) -> None:
    try:
        loader.exec_module(module)
    except CatalogueError:
        raise
    except Exception as exc:
        raise CatalogueError(f"cannot import feature module {path}: {type(exc).__name__}: {exc}") from exc


def discover(folder: Path, root: Path) -> tuple[list[Definition], list[GroupMeta]]:
    """Every function marked `__techscore_feature__` or `__techscore_node__` in `folder/*.py`, in file order, and
    every feature group declared there (`feature_group`).

    Only functions defined in a module count for it (a node imported into another module is not a second
    definition). Raises CatalogueError naming both modules when an id is defined twice, or a group is declared
    twice with different names.
    """
    if not folder.is_dir():
        raise CatalogueError(f"no feature folder at {folder}; expected a `features/` folder in the workspace {root}.")
    _, modules = _import_package(folder)
    found: dict[str, Definition] = {}
    groups: dict[str, tuple[GroupMeta, str]] = {}
    for module in modules:
        rel = _relative(Path(module.__file__), root)
        for value in vars(module).values():
            if isinstance(value, GroupMeta):
                if value.id in groups and groups[value.id][0] != value:
                    raise CatalogueError(f"feature group {value.id} is declared twice, differently: in "
                                         f"{groups[value.id][1]} and in {rel}.")
                groups.setdefault(value.id, (value, rel))
                continue
            meta = getattr(value, "__techscore_feature__", None) or getattr(value, "__techscore_node__", None)
            if meta is None or not callable(value) or getattr(value, "__module__", None) != module.__name__:
                continue
            if getattr(value, "__techscore_feature__", None) and getattr(value, "__techscore_node__", None):
                raise CatalogueError(f"{meta.id} in {rel} is marked both as a feature and as a node; choose one.")
            if meta.id in found:
                other = found[meta.id]
                if other.fn is value:
                    continue
                raise CatalogueError(
                    f"feature id {meta.id} is defined twice: in {other.module} and in {rel}; ids must be unique."
                )
            found[meta.id] = Definition(meta.id, value, rel, meta)
    return list(found.values()), [g for g, _ in groups.values()]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
