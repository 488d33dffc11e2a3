"""The house style of every techscore figure: a CJK-capable font so Chinese labels render, on matplotlib's Agg
canvas without pyplot (no global state, safe in threads and servers).

The font is found once (Noto Sans CJK from Debian's `fonts-noto-cjk` and similar), registered with matplotlib if
its cache predates the font, and applied per figure through `style()`; text is laid out when a figure is saved,
so saving must happen inside the block too.
"""

from __future__ import annotations

import functools
import glob
import io
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CJK_FAMILIES", "cjk_font", "new_figure", "style", "to_png"]

CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "SimHei", "Microsoft YaHei", "PingFang SC",
    "Heiti SC", "Arial Unicode MS",
)
"""Font families able to draw Chinese, in order of preference."""
_FONT_GLOBS = (
    "/usr/share/fonts/**/NotoSansCJK*.tt[cf]", "/usr/share/fonts/**/NotoSansSC*.[ot]tf",
    "/usr/share/fonts/**/wqy-*.tt[cf]", "/usr/share/fonts/**/SourceHanSans*.[ot]t[cf]",
    "/usr/share/fonts/**/DroidSansFallback*.ttf",
)


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed CJK-capable font matplotlib can use, or None when there is none.

    Install one on Debian/Ubuntu with `apt-get install fonts-noto-cjk` (scripts/install-system-deps.sh).
    """
    from matplotlib import font_manager

    def installed() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((fam for fam in CJK_FAMILIES if fam in names), None)

    found = installed()
    if found:
        return found
    for pattern in _FONT_GLOBS:  # matplotlib's font cache may predate the font: register the files directly
        for path in sorted(glob.glob(pattern, recursive=True)):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    found = installed()
    if found is None:
        import warnings

        warnings.warn("no CJK font found: Chinese labels in plots will not render; install one with "
                      "scripts/install-system-deps.sh (Debian/Ubuntu: apt-get install fonts-noto-cjk).", stacklevel=2)
    return found


@contextmanager
def style() -> Iterator[None]:
    """Matplotlib settings of every techscore figure (CJK-capable font first), for a `with` block."""
    import matplotlib

    family = cjk_font()
    sans = ([family] if family else []) + ["DejaVu Sans"]
    with matplotlib.rc_context({
        "font.family": "sans-serif", "font.sans-serif": sans, "axes.unicode_minus": False, "font.size": 9,
        "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 10, "axes.labelsize": 9,
        "figure.dpi": 100, "savefig.dpi": 150,
    }):
        yield


def new_figure(width: float, height: float):
    """A matplotlib Figure on an Agg canvas (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def to_png(fig) -> bytes:
    """The figure as PNG bytes, trimmed to its content on a white background."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.08, facecolor="white")
    return buf.getvalue()
