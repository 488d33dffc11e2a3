"""Validation plots draw Chinese display names with the house CJK font (no missing-glyph warnings)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from techscore.model.plots import importance_plot, save_png
from tests.reports._system import cjk_font_or_reason


def test_importance_plot_saves_chinese_names_without_missing_glyphs(tmp_path):
    family, reason = cjk_font_or_reason()
    if family is None:
        pytest.skip(reason)
    importance = pd.DataFrame({"name": ["五级分类", "研发强度", "net profit / total assets"], "gain": [30.0, 20.0, 10.0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = save_png(importance_plot(importance), tmp_path / "importance.png")
    glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message)]
    assert glyphs == []
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
