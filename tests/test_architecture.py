"""The layers of DESIGN.md hold: data flows one way, and techscore never imports the user's catalogue."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_engine_never_imports_user_workspace() -> None:
    offenders = []
    for path in (ROOT / "techscore").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in {"features", "models", "experiments"}]
    assert offenders == []


def _package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def test_no_module_imports_another_packages_private_names() -> None:
    """`_name` and `_module` are private to their package: shared code lives in a public module."""
    offenders = []
    for path in (ROOT / "techscore").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        importer = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        home = _package_of(importer, rel.name == "__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("techscore")):
                continue
            parts = node.module.split(".")
            private_at = next((i for i, p in enumerate(parts) if p.startswith("_")), None)
            if private_at is not None and ".".join(parts[:private_at]) != home:
                offenders.append(f"{rel}: from {node.module} import ...")
            source_package = node.module if (ROOT / Path(*parts)).is_dir() else node.module.rpartition(".")[0]
            offenders += [f"{rel}: {a.name} from {node.module}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__") and source_package != home and node.module != home]
    assert offenders == []


def test_no_module_shadows_a_function() -> None:
    """A package's exported function is never hidden by a submodule of the same name (once that is imported)."""
    import importlib
    import inspect

    clashes = []
    for init in (ROOT / "techscore").rglob("__init__.py"):
        package = ".".join(init.parent.relative_to(ROOT).parts)
        for name in getattr(importlib.import_module(package), "__all__", []):
            if (init.parent / f"{name}.py").exists() or (init.parent / name / "__init__.py").exists():
                value = getattr(importlib.import_module(package), name)
                if not inspect.ismodule(value) or not callable(value):
                    clashes.append(f"{package}.{name}")
    assert clashes == []
    import techscore.model.training  # noqa: F401 - importing the modules must not rebind the names
    import techscore.sources.validation  # noqa: F401
    from techscore.model import train
    from techscore.sources import validate

    assert inspect.isfunction(train) and inspect.isfunction(validate)
