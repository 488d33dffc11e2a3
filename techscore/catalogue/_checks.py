"""Checks a catalogue must pass when it is loaded: complete metadata, resolvable parameters, no cycles."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping

from techscore.catalogue._discover import Definition
from techscore.catalogue.meta import DRIFTS, UNITS, FeatureMeta
from techscore.exceptions import CatalogueError
from techscore.sources.schema import TABLE_NAMES

PARTY_INPUTS: tuple[str, ...] = ("bank",)
"""Names of the party a computation is for: ``bank``, the lending bank's id. A feature that needs one (directly or
through a node) is a party feature: computed only when the caller names the party (`Catalogue.compute(bank=...)`)
and left out of the default selection, so platform-only datasets never hold it."""
BASE_INPUTS: tuple[str, ...] = ("as_of", "firms", "point_in_time", *PARTY_INPUTS, *TABLE_NAMES)
"""Names the engine provides for an as-of date (notes/FEATURES.md): the date, the firms, the point-in-time
configuration, the party (when one is named) and the seven raw tables as known before the date."""

KINDS: tuple[str, ...] = ("numeric", "categorical")
DIRECTIONS: tuple[int, ...] = (-1, 0, 1)


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def check_meta(d: Definition, groups: Iterable[str]) -> None:
    """Raise CatalogueError naming the feature, its module and the bad field when its metadata is incomplete
    (`groups`: the ids of the groups declared in the catalogue)."""
    groups = list(groups)
    if d.id in BASE_INPUTS:
        raise CatalogueError(
            f"{d.id} in {d.module} shadows a base input; rename it (reserved: {', '.join(BASE_INPUTS)})."
        )
    if not isinstance(d.meta, FeatureMeta):
        return
    m = d.meta
    where = f"feature {m.id} in {d.module}"
    problems = []
    if m.group not in groups:
        problems.append(f"group must be one of {', '.join(groups)} (the groups declared in features/; declare "
                        f"another with feature_group); got {m.group!r}")
    if m.unit not in UNITS:
        problems.append(f"unit must be one of {', '.join(UNITS)}; got {m.unit!r}")
    if isinstance(m.direction, bool) or m.direction not in DIRECTIONS:
        problems.append(f"direction must be -1, 0 or 1; got {m.direction!r}")
    if m.drift not in DRIFTS:
        problems.append(f"drift must be one of {', '.join(DRIFTS)}; got {m.drift!r}")
    if m.kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}; got {m.kind!r}")
    for field in ("name_zh", "name_en", "description"):
        if not _text(getattr(m, field)):
            problems.append(f"{field} must be a non-empty text; got {getattr(m, field)!r}")
    if not m.sources or isinstance(m.sources, str):
        problems.append(f"sources must name at least one table of {', '.join(TABLE_NAMES)}; got {m.sources!r}")
    else:
        unknown = [s for s in m.sources if s not in TABLE_NAMES]
        if unknown:
            problems.append(f"sources must be table names ({', '.join(TABLE_NAMES)}); got {', '.join(map(repr, unknown))}")
    if m.kind == "categorical" and m.direction != 0:
        problems.append(f"a categorical feature has direction 0; got {m.direction!r}")
    if m.categories and m.kind != "categorical":
        problems.append("categories are declared only for kind='categorical'")
    if problems:
        raise CatalogueError(f"{where} has bad metadata: " + "; ".join(problems) + ".")


def parameters(d: Definition, known: Iterable[str]) -> tuple[str, ...]:
    """The names `d` takes as inputs; a parameter with a default that names nothing keeps its default."""
    known = set(known)
    names = []
    for p in inspect.signature(d.fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise CatalogueError(f"{d.id} in {d.module} takes *{p.name}; every input must be a named parameter.")
        if p.name in known:
            names.append(p.name)
        elif p.default is p.empty:
            raise CatalogueError(
                f"{d.id} in {d.module} takes a parameter {p.name!r} that names no base input, node or feature "
                f"(base inputs: {', '.join(BASE_INPUTS)})."
            )
    return tuple(names)


def topological_order(deps: Mapping[str, tuple[str, ...]], modules: Mapping[str, str]) -> list[str]:
    """Ids in an order where every id comes after what it needs; raise CatalogueError naming a cycle."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in deps:
        if state.get(start) == 2:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                path.append(node)
            children = [c for c in deps[node] if c in deps]
            if i < len(children):
                stack.append((node, i + 1))
                child = children[i]
                if state.get(child) == 1:
                    cycle = path[path.index(child):] + [child]
                    raise CatalogueError(
                        "the catalogue has a dependency cycle: "
                        + " -> ".join(f"{c} ({modules[c]})" for c in cycle)
                        + "; a feature cannot depend on itself."
                    )
                if state.get(child) != 2:
                    stack.append((child, 0))
            else:
                state[node] = 2
                path.pop()
                order.append(node)
    return order
