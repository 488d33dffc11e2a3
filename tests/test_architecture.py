"""The layers of DESIGN.md hold: data flows one way, and techscore never imports the user's catalogue."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) is True


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
