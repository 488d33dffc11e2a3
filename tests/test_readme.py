"""The README's Python API section runs as written (the notebook user's calls, in an empty folder)."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_api_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Python API")
    return text[start:text.index("\n## ", start + 1)]


@pytest.mark.slow
def test_readme_python_api_runs(tmp_path, monkeypatch):
    for folder in ("features", "models"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TECHSCORE_WORKSPACE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    section = python_api_section()
    assert section.count(">>> ") >= 20
    test = doctest.DocTestParser().get_doctest(section, {}, "README.md#python-api", str(ROOT / "README.md"), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(out)
