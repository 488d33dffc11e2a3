"""Fixtures: a small typed world, and tiny catalogues written into a temporary workspace."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.catalogue.world import GROUP_DECLARATIONS, make_world

HEADER = "import pandas as pd\nfrom techscore.catalogue import feature, node\n"


def meta(group: str = "rd", unit: str = "ratio", direction: int = -1, sources: str = '("financials",)',
         kind: str = "numeric", **extra: str) -> str:
    """The decorator line of a feature with valid metadata unless overridden."""
    more = "".join(f", {k}={v}" for k, v in extra.items())
    return (f'@feature(group="{group}", name_zh="中文名", name_en="English name", unit="{unit}", '
            f'direction={direction}, sources={sources}, description="What it is.", kind="{kind}"{more})')


@pytest.fixture
def workspace(tmp_path: Path):
    """Write modules into `tmp_path/features/` and return the workspace root: `workspace({"a": "code"})`."""

    def write(modules: dict[str, str]) -> Path:
        folder = tmp_path / "features"
        folder.mkdir(exist_ok=True)
        (folder / "groups.py").write_text(GROUP_DECLARATIONS, encoding="utf-8")
        for name, code in modules.items():
            (folder / f"{name}.py").write_text(HEADER + textwrap.dedent(code), encoding="utf-8")
        return tmp_path

    return write


@pytest.fixture(scope="session")
def world():
    return make_world(n_firms=40, seed=7)
