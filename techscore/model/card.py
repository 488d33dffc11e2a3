"""The WOE scorecard as a plain points table: the common source of its SQL and PMML exports and of the scorecard
trees a blended champion carries (`techscore.model.blend`).

`card_table` reads a fitted `ScorecardModel` (optbinning) into `CardTable`: for each selected feature the bin
edges or category groups, the points of each bin and of a missing value, exactly as optbinning's `Scorecard.score`
assigns them (``x < edge`` for numeric bins, missing values to the Missing bin, unseen categories to the Missing
bin's points as well). With optbinning's points-to-double-the-odds scaling the PD is a function of the total
points, ``PD = sigmoid((offset - points) / factor)``, which is how the exports compute it.

Reason codes: each bin costs ``best points of its feature - its points``; a row's reason codes are the `k` features
with the largest positive cost, ties in feature order (PMML's ``pointsBelow`` with the best bin as baseline).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.exceptions import ModelError

__all__ = ["CARD_FORMAT", "CardTable", "Characteristic", "card_table"]

CARD_FORMAT = "techscore-scorecard/1"


@dataclass(frozen=True)
class Characteristic:
    """One feature of the scorecard: its bins and their points.

    Numeric: bin i holds ``edges[i-1] <= x < edges[i]`` (len(edges) + 1 bins). Categorical: bin i holds the
    categories `groups[i]`. `missing_points` applies to missing values (and to unseen categories).
    """

    feature: str
    name: str
    kind: str
    points: tuple[float, ...]
    missing_points: float
    edges: tuple[float, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    unseen_pd_shift: float = 0.0
    """Categorical: points added for the PD (not the score) of an unseen category. optbinning scores an unseen
    category with the Missing bin's points but gives it, for the PD, the WOE of the mean default rate."""

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(v for g in self.groups for v in g)

    @property
    def best(self) -> float:
        return max(*self.points, self.missing_points)

    def labels(self) -> list[str]:
        """A readable label of each bin (repr-exact edges)."""
        if self.kind == "categorical":
            return ["{" + ", ".join(g) + "}" for g in self.groups]
        bounds = ["-inf", *(repr(float(e)) for e in self.edges), "inf"]
        return [f"[{lo}, {hi})" if lo != "-inf" else f"(-inf, {hi})" for lo, hi in zip(bounds, bounds[1:], strict=False)]

    def reason_code(self, i: int | None) -> str:
        """Reason code of bin i (None: the missing bin)."""
        return f"{self.feature}: " + ("missing" if i is None else self.labels()[i])


@dataclass(frozen=True)
class CardTable:
    """A scorecard as plain numbers: characteristics, an initial score and the points-to-PD scaling."""

    characteristics: tuple[Characteristic, ...]
    initial_points: float = 0.0
    factor: float = 20.0 / math.log(2.0)
    offset: float = 600.0 - 20.0 / math.log(2.0) * math.log(50.0)
    info: dict = field(default_factory=dict)

    # --- scoring in Python: the reference the exports are tested against -----------------------------------------
    def bin_index(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Bin of each row and feature (-1: missing or unseen category)."""
        out = {}
        for c in self.characteristics:
            col = frame[c.feature]
            if c.kind == "categorical":
                s = col.astype("string").astype(object).where(col.notna(), None)
                idx = np.full(len(frame), -1)
                for i, g in enumerate(c.groups):
                    idx[s.isin(list(g)).to_numpy()] = i
            else:
                x = pd.to_numeric(col, errors="raise").to_numpy(dtype=np.float64)
                idx = np.where(np.isnan(x), -1, np.searchsorted(np.asarray(c.edges), x, side="right"))
            out[c.feature] = idx
        return pd.DataFrame(out, index=frame.index)

    def points(self, frame: pd.DataFrame) -> np.ndarray:
        """Total points of each row."""
        total = np.full(len(frame), self.initial_points)
        for c, idx in zip(self.characteristics, self.bin_index(frame).T.to_numpy(), strict=True):
            table = np.asarray([*c.points, c.missing_points])
            total = total + table[idx]
        return total

    def pd_points(self, frame: pd.DataFrame) -> np.ndarray:
        """Points the PD is read from: the total points plus each unseen category's shift."""
        total = self.points(frame)
        for c in self.characteristics:
            if c.kind == "categorical" and c.unseen_pd_shift:
                col = frame[c.feature]
                unseen = col.notna() & ~col.astype("string").astype(object).isin(list(c.categories))
                total = total + np.where(unseen.to_numpy(), c.unseen_pd_shift, 0.0)
        return total

    def predict_pd(self, frame: pd.DataFrame) -> np.ndarray:
        """PD of each row."""
        z = (self.offset - self.pd_points(frame)) / self.factor
        return 1.0 / (1.0 + np.exp(-z))

    # --- persistence -----------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the card as JSON (repr-exact numbers)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"format": CARD_FORMAT, **asdict(self)}
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> CardTable:
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: cannot read a scorecard ({exc}).") from exc
        if doc.get("format") != CARD_FORMAT:
            raise ModelError(f"{path}: field 'format' must be {CARD_FORMAT!r}; got {doc.get('format')!r}.")
        chars = []
        for i, c in enumerate(doc["characteristics"]):
            try:
                chars.append(Characteristic(
                    feature=c["feature"], name=c.get("name", c["feature"]), kind=c["kind"],
                    points=tuple(float(p) for p in c["points"]), missing_points=float(c["missing_points"]),
                    edges=tuple(float(e) for e in c.get("edges", ())),
                    groups=tuple(tuple(str(v) for v in g) for g in c.get("groups", ())),
                    unseen_pd_shift=float(c.get("unseen_pd_shift", 0.0))))
            except (KeyError, TypeError, ValueError) as exc:
                raise ModelError(f"{path}: characteristic {i}: {exc!r}.") from exc
        return cls(tuple(chars), float(doc.get("initial_points", 0.0)), float(doc["factor"]), float(doc["offset"]),
                   dict(doc.get("info", {})))


def card_table(model: object, *, source: str = "scorecard") -> CardTable:
    """Read a fitted `techscore.model.scorecard.ScorecardModel` into a `CardTable`."""
    card = model.scorecard
    if card.scaling_method != "pdo_odds" or card.reverse_scorecard or card.rounding:
        raise ModelError(f"{source}: only unrounded points-to-double-the-odds scorecards can be exported; got "
                         f"scaling {card.scaling_method!r}, reverse={card.reverse_scorecard}, "
                         f"rounding={card.rounding}.")
    params = card.scaling_method_params
    factor = float(params["pdo"] / np.log(2))
    offset = float(params["scorecard_points"] - factor * np.log(params["odds"]))
    table = card.table(style="summary")
    names = {f.id: f.name_en for f in model.features}
    process = card.binning_process_
    chars = []
    for feature in process.get_support(names=True):
        optb = process.get_binned_variable(feature)
        points = table.loc[table["Variable"] == feature, "Points"].to_numpy(dtype=np.float64)
        where = f"{source}, feature '{feature}'"
        if optb.special_codes:
            raise ModelError(f"{where}: special codes are not supported by the export.")
        if optb.dtype == "categorical":
            if getattr(optb, "cat_cutoff", None) or getattr(optb, "user_splits", None) is not None:
                raise ModelError(f"{where}: an 'others' category group cannot be exported.")
            groups = tuple(tuple(str(v) for v in g) for g in optb.splits)
            n = len(groups)
            kw = {"groups": groups, "unseen_pd_shift": _unseen_shift(card, optb, feature, factor)}
        else:
            edges = tuple(float(e) for e in optb.splits)
            n = len(edges) + 1
            kw = {"edges": edges}
        if len(points) != n + 2:
            raise ModelError(f"{where}: expected {n + 2} rows of points (bins, Special, Missing); got {len(points)}.")
        chars.append(Characteristic(feature=str(feature), name=names.get(feature, str(feature)),
                                    kind="categorical" if optb.dtype == "categorical" else "numeric",
                                    points=tuple(points[:n].tolist()), missing_points=float(points[-1]), **kw))
    initial = float(np.ravel(card.intercept_)[0]) if card.intercept_based else 0.0
    return CardTable(tuple(chars), initial, factor, offset)


def _unseen_shift(card: object, optb: object, feature: str, factor: float) -> float:
    """Points an unseen category adds to the PD beyond the Missing bin's: ``-factor * coef * (WOE_unseen -
    WOE_missing)``, both WOEs from the binning's own transform with the scorecard's missing/special settings."""
    names = list(card.binning_process_.get_support(names=True))
    coef = float(np.ravel(card.estimator_.coef_)[names.index(feature)])
    settings = {"metric_special": getattr(card, "_metric_special", 0), "metric_missing": getattr(card, "_metric_missing", 0)}
    known = {str(v) for g in optb.splits for v in g}
    unseen = next(f"<unseen {i}>" for i in range(len(known) + 1) if f"<unseen {i}>" not in known)
    woe = optb.transform(np.array([unseen, np.nan], dtype=object), metric="woe", **settings)
    return float(-factor * coef * (float(woe[0]) - float(woe[1])))
