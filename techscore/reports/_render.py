"""Rendering shared by the reports: Jinja2 templates from package data, self-contained pages, bilingual text."""

from __future__ import annotations

import base64
import functools
import math
from importlib import resources
from pathlib import Path

from techscore.bilingual import check_lang


@functools.lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment over `techscore/reports/templates` (autoescaped, strict about undefined names)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("techscore.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(num=fmt_num, pct=fmt_pct, signed=fmt_signed)
    return env


def _asset(name: str) -> str:
    return resources.files("techscore.reports").joinpath("templates", name).read_text(encoding="utf-8")


def render(template: str, *, lang: str, title_zh: str, title_en: str, **context) -> str:
    """Render `template` into one self-contained HTML page (stylesheet and script inlined, images as data URIs).

    Both languages are in the page; `lang` is the one shown first (the toggle button or `?lang=en|zh` switch).
    """
    check_lang(lang)
    from techscore import __version__

    return environment().get_template(template).render(
        lang=lang, title_zh=title_zh, title_en=title_en, css=_asset("report.css"), js=_asset("report.js"),
        version=__version__, **context,
    )


def data_uri(png: bytes | None, mime: str = "image/png") -> str:
    """An image as a `data:` URI so the page needs no other file (and no network) to show it."""
    if not png:
        return ""
    return f"data:{mime};base64,{base64.b64encode(png).decode('ascii')}"


def write_page(html: str, path: str | Path) -> Path:
    """Write a rendered page atomically (a reader never sees half a report)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path


def _finite(x: object) -> float | None:
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt_num(x: object, digits: int = 3) -> str:
    """A number for a table cell: thousands separators, `digits` decimals, an en dash when missing."""
    f = _finite(x)
    if f is None:
        return "–" if x is None or isinstance(x, float) else str(x)
    if abs(f - round(f)) < 1e-12 and (abs(f) >= 1 or f == 0):
        return f"{int(round(f)):,}"
    if abs(f) >= 100:
        digits = min(digits, 1)
    return f"{f:,.{digits}f}"


def fmt_pct(x: object, digits: int = 2) -> str:
    """A share as a percentage (0.0123 -> 1.23%)."""
    f = _finite(x)
    return "–" if f is None else f"{100 * f:.{digits}f}%"


def fmt_signed(x: object, digits: int = 3) -> str:
    """A signed number (+0.123 / −0.045)."""
    f = _finite(x)
    return "–" if f is None else f"{f:+.{digits}f}".replace("-", "−")
