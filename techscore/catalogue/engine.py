"""The catalogue: every feature and node of a workspace, checked, ordered and computable as of a date.

>>> cat = load_catalogue()                                   # doctest: +SKIP
>>> cat.select(groups=["rd"]).compute(sources, "2024-06-01")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techscore.catalogue._checks import BASE_INPUTS, PARTY_INPUTS, check_meta, parameters, topological_order
from techscore.catalogue._discover import Definition, discover
from techscore.catalogue.meta import UNITS_ZH, FeatureMeta, GroupMeta
from techscore.exceptions import CatalogueError
from techscore.sources.asof import RULES_VERSION, known_as_of
from techscore.sources.schema import TABLE_NAMES, PointInTime
from techscore.workspace import workspace as find_workspace


def load_catalogue(workspace: str | Path | None = None) -> Catalogue:
    """Load and check the catalogue in `workspace/features/` (default: `techscore.workspace.workspace()`).

    Every `features/*.py` module is imported by path; functions marked with `@feature` or `@node` are collected.
    Raises CatalogueError when an id is defined twice (naming both modules), metadata is incomplete or invalid,
    a parameter names nothing the engine can provide, or dependencies form a cycle (naming it).
    """
    root = find_workspace(workspace)
    definitions, groups = discover(root / "features", root)
    return Catalogue(definitions, groups=groups, root=root)


class Catalogue:
    """Checked features and nodes with their dependency graph.

    Attributes
    ----------
    features : list of FeatureMeta
        The selected features in a stable order (the declared groups' order, then module order, then definition
        order).
    version : str
        Hash of ids, metadata and the source code of the catalogue's modules: record it with a model.
    """

    def __init__(self, definitions: Sequence[Definition], *, groups: Sequence[GroupMeta] = (),
                 root: Path | None = None, selected: Sequence[str] | None = None) -> None:
        self.root = root
        self._groups = {g.id: g for g in sorted(groups, key=lambda g: (g.order, g.id))}
        self._defs: dict[str, Definition] = {}
        for d in definitions:
            check_meta(d, self._groups)
            if d.is_feature and not d.meta.unit_zh:
                d = dataclasses.replace(d, meta=dataclasses.replace(d.meta, unit_zh=UNITS_ZH.get(d.meta.unit, "")))
            self._defs[d.id] = d
        self._deps = {i: parameters(d, (*BASE_INPUTS, *self._defs)) for i, d in self._defs.items()}
        self._order = topological_order(
            {i: tuple(p for p in ps if p in self._defs) for i, ps in self._deps.items()},
            {i: d.module for i, d in self._defs.items()},
        )
        all_features = [d for d in self._defs.values() if d.is_feature]
        order = list(self._groups)
        all_features.sort(key=lambda d: order.index(d.meta.group))  # stable: keeps module and definition order
        ids = [d.id for d in all_features]
        self._party = {i for i in ids if self.party(i)}
        chosen = set([i for i in ids if i not in self._party] if selected is None else selected)
        self._selected = [i for i in ids if i in chosen]

    # -- what is in it ------------------------------------------------------------------------------------------
    @property
    def features(self) -> list[FeatureMeta]:
        return [self._defs[i].meta for i in self._selected]

    @property
    def ids(self) -> list[str]:
        return list(self._selected)

    @property
    def groups(self) -> list[str]:
        present = {self._defs[i].meta.group for i in self._selected}
        return [g for g in self._groups if g in present]

    def group(self, group_id: str) -> GroupMeta:
        """The declaration of group `group_id` (its names in both languages)."""
        return self._groups[group_id]

    def __len__(self) -> int:
        return len(self._selected)

    def __iter__(self) -> Iterator[FeatureMeta]:
        return iter(self.features)

    def __contains__(self, feature_id: object) -> bool:
        return feature_id in self._selected

    def __getitem__(self, feature_id: str) -> FeatureMeta:
        if feature_id not in self._selected:
            raise KeyError(feature_id)
        return self._defs[feature_id].meta

    def __repr__(self) -> str:
        return f"Catalogue({len(self)} features in {len(self.groups)} groups, version {self.version})"

    def definition(self, id: str) -> Definition:
        """The function, module and metadata of a feature or node."""
        return self._defs[id]

    def dependencies(self, id: str) -> tuple[str, ...]:
        """What `id` takes directly: base inputs, nodes and features, in parameter order."""
        return self._deps[id]

    def party(self, id: str) -> str | None:
        """The party input (``bank``) `id` needs, directly or through what it needs; None for a platform feature."""
        used = {p for i in self._closure([id]) for p in self._deps[i]}
        return next((p for p in PARTY_INPUTS if p in used), None)

    def upstream(self, id: str) -> list[str]:
        """Nodes and features `id` needs, directly or not, in computation order (without `id`)."""
        return [i for i in self._closure([id]) if i != id]

    def tables(self, id: str) -> list[str]:
        """Raw tables `id` reads, directly or through what it needs."""
        used = {p for i in self._closure([id]) for p in self._deps[i] if p in BASE_INPUTS}
        return [t for t in TABLE_NAMES if t in used]

    def select(self, groups: Iterable[str] | None = None, ids: Iterable[str] | None = None) -> Catalogue:
        """The catalogue restricted to features of `groups` and/or with `ids` (union when both are given).

        None for both keeps the current selection. Unknown groups or ids raise CatalogueError naming them. Party
        features (`party`), left out of the default selection, come in only when their group or id is named.
        """
        if groups is None and ids is None:
            return self
        groups = [groups] if isinstance(groups, str) else list(groups or [])
        ids = [ids] if isinstance(ids, str) else list(ids or [])
        bad_groups = [g for g in groups if g not in self._groups]
        if bad_groups:
            raise CatalogueError(f"unknown feature group {', '.join(bad_groups)}; groups are {', '.join(self._groups)}.")
        self._check_ids(ids)
        pool = [*self._selected, *(i for i in self._party if i not in self._selected)]
        keep = {i for i in pool if self._defs[i].meta.group in groups} | set(ids)
        return Catalogue(list(self._defs.values()), groups=list(self._groups.values()), root=self.root,
                         selected=[i for i in self._order if i in keep])

    def _check_ids(self, ids: Iterable[str]) -> None:
        unknown = [i for i in ids if i not in self._defs or not self._defs[i].is_feature]
        if unknown:
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise CatalogueError(f"unknown feature id {', '.join(unknown[:5])}{more}; "
                                 "`techscore features` lists the catalogue.")

    @cached_property
    def version(self) -> str:
        """sha256 (first 16 hex digits) of the selected features' ids and metadata, what they need, and the code.

        The code is every file of the catalogue folder (modules, shared helpers they import, rule files such as
        `features/config/*.toml`): any edit there may change a value, so it changes the version.
        """
        h = hashlib.sha256(f"rules {RULES_VERSION}\n".encode())
        for i in sorted(self._closure(self._selected)):
            d = self._defs[i]
            h.update(json.dumps([i, d.module, dataclasses.asdict(d.meta)], sort_keys=True, default=str).encode())
        for path in _catalogue_files(self.root):
            h.update(path.relative_to(self.root).as_posix().encode() + b"\0" + path.read_bytes())
        return h.hexdigest()[:16]

    def _closure(self, ids: Iterable[str]) -> list[str]:
        need: set[str] = set()
        stack = list(ids)
        while stack:
            i = stack.pop()
            if i in need:
                continue
            need.add(i)
            stack.extend(p for p in self._deps[i] if p in self._defs)
        return [i for i in self._order if i in need]

    # -- computing ----------------------------------------------------------------------------------------------
    def compute(
        self,
        sources: Any,
        as_of: Any,
        firms: Iterable[str] | pd.Index | None = None,
        ids: Iterable[str] | None = None,
        *,
        point_in_time: PointInTime | None = None,
        timings: dict[str, float] | None = None,
        bank: str | None = None,
    ) -> pd.DataFrame:
        """Features as known strictly before `as_of`, one row per firm, one column per feature.

        Parameters
        ----------
        sources
            `Sources` (from `techscore.sources.load`) or a mapping of table name to DataFrame.
        as_of
            The as-of date D: every table is cut to what was known before D (`techscore.sources.asof`).
        firms
            Firms (USCC) to return rows for, in that order; default every firm founded before D.
        ids
            Features to compute (default: the selection); only they and what they need are computed, each once.
        point_in_time
            When yearly records become known (default `PointInTime()`).
        timings
            If given, filled with seconds spent per node and feature (and `known_as_of` for the views).
        bank
            The party of party features (`party`): the lending bank's id. Required when a feature to compute
            needs it; a bank's features then see only that bank's rows of the views.

        Returns
        -------
        DataFrame indexed by `uscc`; numeric features float64, categorical ones pandas `category`.
        """
        d = pd.Timestamp(as_of)
        pit = point_in_time or PointInTime()
        wanted = self._selected if ids is None else list(dict.fromkeys(ids))
        if ids is not None:
            self._check_ids(wanted)
        plan = self._closure(wanted)
        used = {p for i in plan for p in self._deps[i]}
        if "bank" in used and bank is None:
            needs = [i for i in wanted if self.party(i) == "bank"]
            raise CatalogueError(f"features {', '.join(needs[:5])} are the lending bank's own; pass bank=<bank id> "
                                 "to compute them.")
        tables = [t for t in TABLE_NAMES if t in used or (t == "enterprises" and firms is None)]
        t0 = time.perf_counter()
        # each table's view is made when a computation first needs it and dropped after the last one (below): a
        # view that cannot be a slice of its table is a copy, and the copies of all tables at once add up
        first = ["enterprises"] if firms is None and "enterprises" in tables else []
        values: dict[str, Any] = dict(known_as_of(sources, d, pit, tables=first))
        later = [t for t in tables if t not in values]
        viewing = time.perf_counter() - t0
        if firms is None:
            index = pd.Index(values["enterprises"]["uscc"].to_numpy(), name="uscc")
        else:
            index = pd.Index(firms, name="uscc")
        if not index.is_unique:
            raise CatalogueError(f"firms must be unique; {index[index.duplicated()][:5].tolist()} appear twice.")
        values.update(as_of=d, firms=index, point_in_time=pit, bank=bank)
        remaining: dict[str, int] = {}
        for i in plan:
            for p in self._deps[i]:
                remaining[p] = remaining.get(p, 0) + 1
        out: dict[str, pd.Series] = {}
        wanted_set = set(wanted)
        for i in plan:
            d_ = self._defs[i]
            for p in later:
                if p in self._deps[i] and p not in values:
                    t1 = time.perf_counter()
                    values[p] = known_as_of(sources, d, pit, tables=[p])[p]
                    viewing += time.perf_counter() - t1
            args = {p: values[p] for p in self._deps[i]}
            t1 = time.perf_counter()
            try:
                result = d_.fn(**args)
            except CatalogueError:
                raise
            except Exception as exc:
                raise CatalogueError(
                    f"{'feature' if d_.is_feature else 'node'} {i} ({d_.module}) failed as of {d.date()}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            del args
            if d_.is_feature:
                self._check_series(d_, result)
            if i in wanted_set:
                out[i] = self._column(d_, result, index)
            if timings is not None:
                timings[i] = time.perf_counter() - t1
            values[i] = result
            for p in self._deps[i]:  # free what no later computation needs
                remaining[p] -= 1
                if remaining[p] == 0 and p not in ("as_of", "firms", "point_in_time", *PARTY_INPUTS):  # tables too
                    values.pop(p, None)
            if remaining.get(i, 0) == 0:
                values.pop(i, None)
        if timings is not None:
            timings["known_as_of"] = viewing
        return pd.DataFrame({i: out[i] for i in wanted}, index=index, copy=False)  # no second copy of the columns

    @staticmethod
    def _check_series(d: Definition, result: object) -> None:
        if not isinstance(result, pd.Series):
            raise CatalogueError(
                f"feature {d.id} ({d.module}) must return a pandas Series indexed by uscc; got {type(result).__name__}."
            )
        if not result.index.is_unique:
            dup = result.index[result.index.duplicated()].unique()[:5].tolist()
            raise CatalogueError(f"feature {d.id} ({d.module}) returned several values for the firms {dup}.")

    @staticmethod
    def _column(d: Definition, result: pd.Series, index: pd.Index) -> pd.Series:
        meta: FeatureMeta = d.meta  # type: ignore[assignment]
        s = result if result.index.equals(index) else result.reindex(index)
        if meta.kind == "categorical":
            values = s.astype("string")
            categories = list(meta.categories) if meta.categories else sorted(values.dropna().unique())
            return pd.Series(pd.Categorical(values, categories=categories), index=index, name=d.id)
        dtype = s.dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise CatalogueError(
                f"feature {d.id} ({d.module}) is numeric but returned {dtype} values; "
                "declare kind='categorical' or return numbers."
            )
        if dtype == np.float64:
            return s.rename(d.id)
        return pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=index, name=d.id)


NOT_CATALOGUE_FILES: frozenset[str] = frozenset({"features/config/policy.toml"})
"""Files kept beside the feature configs that no feature reads (the policy cut-off table, read by
`techscore.policy`): editing them must not change the catalogue version, or every model would refuse its features."""


def _catalogue_files(root: Path | None) -> list[Path]:
    """Files of the catalogue folder that can change a feature's value (no caches, no hidden files)."""
    if root is None or not (root / "features").is_dir():
        return []
    return [
        p for p in sorted((root / "features").rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".") and p.suffix != ".pyc"
        and p.relative_to(root).as_posix() not in NOT_CATALOGUE_FILES
    ]
