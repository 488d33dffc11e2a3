"""The point-in-time loan dataset: one row per loan, features as known before the loan was issued, and its label.

How a row is built
------------------
* **As-of date.** Features of a loan are computed as of the first day of its issue month (one snapshot per month,
  for the firms with loans that month, so the catalogue runs once per month rather than once per loan). Every
  table is cut to what was known *strictly before* that date (`techscore.sources.asof`), which is on or before
  the issue date: nothing from the issue date or later can leak into a feature. The price is that facts from the
  first days of the issue month are not used.
* **Label.** 1 when the loan defaults (first 90+ days past due) before `issued + window_months`, else 0.
* **Observation end.** A loan is kept only if its whole window has been observed: `issued + window_months <=
  observation_end` (default: the latest issue or default date in the loans table). Loans with an incomplete
  window are excluded and counted in the summary.
* **Segments.** `seg_industry` (GB/T 4754 section of the firm's industry), `seg_region` (2-digit province of its
  region code), `seg_lifecycle` (the catalogue's `profile_lifecycle_stage` as of the snapshot, when the catalogue
  has it), `seg_first_loan` (no loan of the firm, at any bank, was issued before this one) and `bank_id`.
* **Cache.** The dataset's fingerprint hashes the input files' contents, the catalogue version and the options;
  `build_dataset(..., out=folder)` returns the dataset already in `folder` when its fingerprint matches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techscore.catalogue import Catalogue, load_catalogue
from techscore.dataset.fingerprint import file_hashes, fingerprint
from techscore.dataset.frame import FRAME_FILE, KEY_COLUMNS, LABEL, SUMMARY_FILE, LoanDataset
from techscore.exceptions import SchemaError
from techscore.progress import Progress
from techscore.sources.asof import as_tables, sort_by_known
from techscore.sources.industry import section_of
from techscore.sources.load import load_sources
from techscore.sources.schema import PointInTime

LIFECYCLE_FEATURE = "profile_lifecycle_stage"
"""The catalogue feature that gives `seg_lifecycle`."""
DATASET_SEGMENTS: tuple[str, ...] = ("seg_industry", "seg_region", "seg_lifecycle", "seg_first_loan")



def _sources(data: Any) -> Any:
    return load_sources(Path(data)) if isinstance(data, str | Path) else data


def month_start(dates: pd.Series) -> pd.Series:
    """The first day of each date's month (the as-of date of loans issued that month)."""
    return dates.dt.to_period("M").dt.to_timestamp().astype(dates.dtype)


def label_loans(
    loans: pd.DataFrame, window_months: int, observation_end: pd.Timestamp
) -> tuple[pd.Series, pd.Series]:
    """(complete, label) for each loan: window fully observed by `observation_end`; default within the window."""
    if window_months < 1:
        raise ValueError(f"window_months must be a positive number of months; got {window_months}.")
    window_end = loans["issued"] + pd.DateOffset(months=window_months)
    complete = (window_end <= observation_end).to_numpy(dtype=bool, na_value=False)
    bad = (loans["default_date"] < window_end).to_numpy(dtype=bool, na_value=False)
    return pd.Series(complete, index=loans.index), pd.Series(bad.astype("int64"), index=loans.index)


def default_observation_end(loans: pd.DataFrame) -> pd.Timestamp:
    """The latest date the loans table has seen: its last issue or default date."""
    last = max(loans["issued"].max(), loans["default_date"].max() if "default_date" in loans else pd.NaT)
    if pd.isna(last):
        raise SchemaError("the loans table is empty; a dataset needs loans.")
    return pd.Timestamp(last)


def dataset_options(
    groups: Sequence[str] | None, window_months: int, observation_end: Any, point_in_time: PointInTime
) -> dict:
    """The options a dataset's fingerprint covers, in a canonical JSON-ready form."""
    return {
        "groups": sorted(groups) if groups else None,
        "window_months": int(window_months),
        "observation_end": None if observation_end is None else str(pd.Timestamp(observation_end).date()),
        "point_in_time": dataclasses.asdict(point_in_time),
        "as_of": "first day of the issue month",
    }


def dataset_fingerprint(
    data_dir: str | Path,
    catalogue: Catalogue,
    *,
    groups: Sequence[str] | None = None,
    window_months: int = 12,
    observation_end: Any = None,
    point_in_time: PointInTime = PointInTime(),  # noqa: B008
) -> str:
    """The fingerprint `build_dataset` gives these inputs and options, without building (cheap: hashes files)."""
    options = dataset_options(groups, window_months, observation_end, point_in_time)
    return fingerprint(file_hashes(data_dir), catalogue.select(groups=groups).version, options)


def build_dataset(
    data_dir: str | Path,
    *,
    groups: Sequence[str] | None = None,
    window_months: int = 12,
    observation_end: Any = None,
    point_in_time: PointInTime = PointInTime(),  # noqa: B008 - frozen dataclass, safe as a default
    out: str | Path | None = None,
    catalogue: Catalogue | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> LoanDataset:
    """One row per loan with features as of its issue month and a default-within-window label.

    Parameters
    ----------
    data_dir
        Folder of raw tables (`techscore validate` checks them).
    groups
        Feature groups to include (default all).
    window_months
        Performance window: a loan is bad if it defaults within this many months of issue.
    observation_end
        Last date outcomes are observed; loans whose window ends after it are excluded (default: the latest issue
        or default date in the loans table).
    point_in_time
        When yearly records become known.
    out
        Folder to write `dataset.parquet` and `dataset.json` to; a dataset there with the same fingerprint is
        reused (unless `force`).
    catalogue
        The catalogue to use (default: the workspace's, `load_catalogue()`).
    progress
        Optional callback `progress(done, total, what)`.

    Returns
    -------
    LoanDataset with columns loan_id, bank_id, uscc, issued, label, seg_* and one per feature.
    """
    data_dir = Path(data_dir)
    full = catalogue or load_catalogue()
    selected = full.select(groups=groups)
    options = dataset_options(groups, window_months, observation_end, point_in_time)
    fp = dataset_fingerprint(data_dir, full, groups=groups, window_months=window_months,
                             observation_end=observation_end, point_in_time=point_in_time)
    if out is not None and not force:
        cached = _cached(Path(out), fp)
        if cached is not None:
            return cached

    # sorted once by when rows become known: each month's views are then prefixes of the tables, not copies
    sources = sort_by_known(load_sources(Path(data_dir)))
    tables = as_tables(sources)
    loans = tables["loans"].sort_values(["issued", "loan_id"], kind="stable").reset_index(drop=True)
    end = default_observation_end(loans) if observation_end is None else pd.Timestamp(observation_end)
    complete, label = label_loans(loans, window_months, end)
    first_loan = loans["issued"] <= loans.groupby("uscc")["issued"].transform("min")
    kept = loans.loc[complete].assign(**{LABEL: label[complete], "seg_first_loan": first_loan[complete]})
    kept = kept.assign(_as_of=month_start(kept["issued"]))

    feature_ids = [i for i in selected.ids if full.party(i) is None]
    bank_ids = [i for i in selected.ids if full.party(i) is not None]
    extra = [LIFECYCLE_FEATURE] if LIFECYCLE_FEATURE in full and LIFECYCLE_FEATURE not in feature_ids else []
    months = sorted(kept["_as_of"].unique())
    parts = []
    for n, as_of in enumerate(months, start=1):
        month = kept.loc[kept["_as_of"] == as_of]
        firms = pd.Index(month["uscc"].unique(), name="uscc")
        feats = full.compute(sources, as_of, firms=firms, ids=[*feature_ids, *extra], point_in_time=point_in_time)
        parts.append(month.join(feats, on="uscc"))
        if progress is not None:
            progress(n, len(months), f"features as of {pd.Timestamp(as_of).date()}")
    if parts:
        rows = unify_categories(pd.concat(parts, ignore_index=True), full, [*feature_ids, *extra])
    else:  # no loan with a complete window: an empty frame with the right columns
        empty = full.compute(sources, end, firms=[], ids=[*feature_ids, *extra], point_in_time=point_in_time)
        rows = kept.join(empty, on="uscc")
    if bank_ids:
        rows = rows.join(bank_features(rows, sources, full, bank_ids, point_in_time=point_in_time))

    frame = _assemble(rows, tables["enterprises"], selected.ids)
    summary = _summary(frame, loans, complete, selected, options, end, len(months))
    dataset = LoanDataset(frame=frame, features=selected.features, fingerprint=fp, name="dataset", summary=summary)
    if out is not None:
        dataset.save(out)
    return dataset


def bank_features(
    rows: pd.DataFrame,
    sources: Any,
    catalogue: Catalogue,
    ids: Sequence[str],
    *,
    point_in_time: PointInTime = PointInTime(),  # noqa: B008 - frozen dataclass, safe as a default
) -> pd.DataFrame:
    """The lending bank's own features (`ids`, party features of the catalogue) of each loan in `rows`.

    Each loan's features are its bank's (``bank_id``), as known strictly before the first day of its issue month
    (the dataset's rule for every feature): the catalogue computes them once per issue month and bank, for the
    firms that bank lent to that month. Returns a frame indexed like `rows`, one column per id.
    """
    missing = [c for c in ("bank_id", "uscc", "issued") if c not in rows.columns]
    if missing:
        raise SchemaError(f"the loans are missing {len(missing)} key columns bank features need: {', '.join(missing)}.")
    keys = pd.DataFrame({"bank": rows["bank_id"].astype("string").to_numpy(), "uscc": rows["uscc"].to_numpy(),
                         "as_of": month_start(pd.to_datetime(rows["issued"])).to_numpy()}, index=rows.index)
    parts = [catalogue.compute(sources, pd.Timestamp(as_of), firms=pd.Index(group["uscc"].unique(), name="uscc"),
                               ids=list(ids), point_in_time=point_in_time, bank=bank)
             .reindex(group["uscc"].to_numpy()).set_axis(group.index, axis=0)
             for (as_of, bank), group in keys.dropna(subset=["bank"]).groupby(["as_of", "bank"], sort=True)]
    out = pd.concat(parts) if parts else pd.DataFrame(columns=list(ids), dtype=np.float64)
    return out.reindex(rows.index)[list(ids)]


def unify_categories(rows: pd.DataFrame, catalogue: Catalogue, ids: list[str]) -> pd.DataFrame:
    """Categorical features whose categories differ between snapshots: one sorted category list for the dataset."""
    changes = {}
    for i in ids:
        meta = catalogue.definition(i).meta
        if meta.kind == "categorical" and not isinstance(rows[i].dtype, pd.CategoricalDtype):
            values = rows[i].astype("string")
            changes[i] = values.astype(pd.CategoricalDtype(sorted(values.dropna().unique())))
    return rows.assign(**changes) if changes else rows


def _cached(folder: Path, fp: str) -> LoanDataset | None:
    if not ((folder / FRAME_FILE).exists() and (folder / SUMMARY_FILE).exists()):
        return None
    try:
        dataset = LoanDataset.read(folder)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable or from an older layout: rebuild
    return dataset if dataset.fingerprint == fp else None


def _assemble(rows: pd.DataFrame, enterprises: pd.DataFrame, feature_ids: list[str]) -> pd.DataFrame:
    firm = enterprises.drop_duplicates("uscc").set_index("uscc")
    uscc = rows["uscc"]
    seg_industry = section_of(firm["industry"]).reindex(uscc).to_numpy()
    seg_region = firm["region"].astype("string").str[:2].reindex(uscc).to_numpy()
    lifecycle = rows[LIFECYCLE_FEATURE].astype("string") if LIFECYCLE_FEATURE in rows else pd.NA
    frame = pd.DataFrame({
        "loan_id": rows["loan_id"].astype("string"),
        "bank_id": rows["bank_id"].astype("string"),
        "uscc": uscc.astype("string"),
        "issued": rows["issued"],
        LABEL: rows[LABEL].astype("int64"),
        "seg_industry": pd.array(seg_industry, dtype="string"),
        "seg_region": pd.array(seg_region, dtype="string"),
        "seg_lifecycle": pd.Series(lifecycle, index=rows.index, dtype="string"),
        "seg_first_loan": rows["seg_first_loan"].astype(bool),
    }, index=rows.index)
    return pd.concat([frame, rows[feature_ids]], axis=1)


def _rates(frame: pd.DataFrame, by: pd.Series) -> dict[str, dict[str, float]]:
    g = frame[LABEL].groupby(by.to_numpy(), sort=True)
    return {str(k): {"loans": int(n), "bad": int(b), "bad_rate": float(b / n)}
            for k, n, b in zip(g.size().index, g.size(), g.sum(), strict=True)}


def _summary(frame: pd.DataFrame, loans: pd.DataFrame, complete: pd.Series, catalogue: Catalogue, options: dict,
             end: pd.Timestamp, snapshots: int) -> dict:
    n = len(frame)
    categories = {
        c: [str(x) for x in frame[c].cat.categories] for c in catalogue.ids
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
    }
    return {
        "rows": n,
        "loans_total": len(loans),
        "excluded": {"window_incomplete": int((~complete).sum())},
        "observation_end": str(end.date()),
        "window_months": options["window_months"],
        "groups": options["groups"] or catalogue.groups,
        "point_in_time": options["point_in_time"],
        "as_of_rule": "features as known strictly before the first day of the loan's issue month",
        "snapshots": snapshots,
        "catalogue_version": catalogue.version,
        "bad_rate": float(frame[LABEL].mean()) if n else None,
        "bad_rate_by_year": _rates(frame, frame["issued"].dt.year),
        "bad_rate_by_bank": _rates(frame, frame["bank_id"]),
        "missing_rate": {c: float(frame[c].isna().mean()) if n else None for c in catalogue.ids},
        "key_columns": list(KEY_COLUMNS),
        "categories": categories,
    }


def featurize(
    data: str | Path | Any,
    firms: Iterable[str] | None,
    as_of: Any,
    *,
    groups: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    point_in_time: PointInTime = PointInTime(),  # noqa: B008
    catalogue: Catalogue | None = None,
) -> pd.DataFrame:
    """Features of `firms` (default: every firm) as known strictly before `as_of`, for scoring.

    `data` is a folder of raw tables or already loaded sources. The frame is indexed by `uscc` in the order of
    `firms` (firms unknown at `as_of` get missing values); its columns are `ids` in the order given (a model's
    columns), then the features of `groups` not among them; neither given: the whole catalogue.
    """
    full = catalogue or load_catalogue()
    wanted = list(ids or [])
    if groups is not None or ids is None:
        wanted += [i for i in full.select(groups=groups).ids if i not in set(wanted)]
    firms_index = None if firms is None else pd.Index(np.asarray(list(firms), dtype=object), name="uscc")
    return full.compute(_sources(data), as_of, firms=firms_index, ids=wanted, point_in_time=point_in_time)
