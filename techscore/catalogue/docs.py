"""The catalogue documents itself: a bilingual Markdown page and a self-contained HTML page reviewers read."""

from __future__ import annotations

from pathlib import Path

from techscore.catalogue.engine import Catalogue
from techscore.catalogue.meta import DIRECTION_TEXT, FeatureMeta
from techscore.sources.schema import TABLE_NAMES

TABLE_NAMES_ZH: dict[str, str] = {
    "enterprises": "企业登记", "financials": "财务报表", "ip_rights": "知识产权", "innovation_indicators": "创新积分指标",
    "supply_chain": "供应链交易", "tax": "纳税信用", "loans": "贷款记录",
}
"""Raw table -> Chinese name."""

TITLE = ("techscore 特征目录", "techscore feature catalogue")


def feature_record(cat: Catalogue, meta: FeatureMeta) -> dict:
    """Everything a page shows about one feature, in both languages."""
    inputs = []
    for dep in cat.dependencies(meta.id):
        if dep in TABLE_NAMES:
            inputs.append({"id": dep, "kind": "table", "text": TABLE_NAMES_ZH[dep]})
        elif dep in ("as_of", "firms", "point_in_time"):
            continue
        else:
            d = cat.definition(dep)
            text = d.meta.name_en if d.is_feature else d.meta.description
            inputs.append({"id": dep, "kind": "feature" if d.is_feature else "node", "text": text})
    zh, en = DIRECTION_TEXT[meta.direction]
    return {
        "meta": meta,
        "direction": f"{meta.direction:+d}" if meta.direction else "0",
        "direction_zh": zh,
        "direction_en": en,
        "sources": [(s, TABLE_NAMES_ZH.get(s, s)) for s in meta.sources],
        "inputs": inputs,
        "tables": cat.tables(meta.id),
    }


def _groups(cat: Catalogue) -> list[dict]:
    return [
        {"id": g, "zh": cat.group(g).name_zh, "en": cat.group(g).name_en,
         "features": [feature_record(cat, m) for m in cat.features if m.group == g]}
        for g in cat.groups
    ]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def catalogue_markdown(cat: Catalogue) -> str:
    """The catalogue as a bilingual Markdown page: a table per group, then a section per feature."""
    lines = [f"# {TITLE[0]} / {TITLE[1]}", "",
             f"版本 Version `{cat.version}` · 特征 {len(cat)} features · 分组 {len(cat.groups)} groups", ""]
    for g in _groups(cat):
        lines += [f"## {g['zh']} / {g['en']} (`{g['id']}`)", "",
                  "| id | 中文名 | English name | 单位 Unit | 方向 Direction | 来源 Sources |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for r in g["features"]:
            m = r["meta"]
            lines.append(f"| `{m.id}` | {_cell(m.name_zh)} | {_cell(m.name_en)} | {m.unit_zh} / {m.unit} | "
                         f"{r['direction']} | {', '.join(s for s, _ in r['sources'])} |")
        lines.append("")
        for r in g["features"]:
            m = r["meta"]
            lines += [f"### `{m.id}` {m.name_zh} / {m.name_en}", ""]
            if m.description_zh:
                lines += [m.description_zh, ""]
            lines += [m.description, "",
                      f"- 类型 Kind: {'类别' if m.kind == 'categorical' else '数值'} / {m.kind}"
                      + (f" ({', '.join(m.categories)})" if m.categories else ""),
                      f"- 单位 Unit: {m.unit_zh} / {m.unit}",
                      f"- 风险方向 Direction: {r['direction']} ({r['direction_zh']} / {r['direction_en']})",
                      "- 数据来源 Sources: " + ", ".join(f"{zh} / `{s}`" for s, zh in r["sources"])]
            if r["inputs"]:
                lines.append("- 依赖 Depends on: " + ", ".join(
                    f"`{i['id']}` ({i['kind']}{': ' + i['text'] if i['text'] else ''})" for i in r["inputs"]))
            lines.append("")
    return "\n".join(lines)


def catalogue_html(cat: Catalogue) -> str:
    """The catalogue as one self-contained HTML page (inline style, no scripts or external files)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("techscore.catalogue", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    return env.get_template("catalogue.html").render(
        title=TITLE, version=cat.version, n=len(cat), groups=_groups(cat))


def write_catalogue_docs(cat: Catalogue, folder: str | Path) -> list[Path]:
    """Write `catalogue.md` and `catalogue.html` into `folder`; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md, page = folder / "catalogue.md", folder / "catalogue.html"
    md.write_text(catalogue_markdown(cat), encoding="utf-8")
    page.write_text(catalogue_html(cat), encoding="utf-8")
    return [md, page]
