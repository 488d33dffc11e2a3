"""The modelling dataset: one row per observation (a loan, or a firm for tabular data), features and a label."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from techscore.catalogue.meta import FeatureMeta

LABEL = "label"
"""Column holding the binary outcome (1 = default within the performance window)."""
KEY_COLUMNS: tuple[str, ...] = ("loan_id", "bank_id", "uscc", "issued")
"""Identifying columns of a loan dataset (absent in plain tabular data, where the index is the key)."""
SEGMENT_COLUMNS: tuple[str, ...] = ("seg_industry", "seg_region", "seg_lifecycle", "bank_id", "seg_first_loan")
"""Segment keys that metrics are broken down by (those present in the frame are used)."""
FRAME_FILE = "dataset.parquet"
SUMMARY_FILE = "dataset.json"


@dataclass
class LoanDataset:
    """Features, label and keys, with the metadata of every feature column.

    `frame` holds the key and segment columns that are present, `label`, and one column per entry of `features`
    (the column name is the feature id, safe for LightGBM). `fingerprint` hashes inputs, catalogue version and
    options, so a run can say exactly which data it saw.
    """

    frame: pd.DataFrame
    features: list[FeatureMeta]
    fingerprint: str
    name: str = "dataset"
    summary: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def feature_ids(self) -> list[str]:
        return [f.id for f in self.features]

    @property
    def X(self) -> pd.DataFrame:  # noqa: N802 - the conventional name
        return self.frame[self.feature_ids]

    @property
    def y(self) -> pd.Series:
        return self.frame[LABEL]

    @property
    def segments(self) -> list[str]:
        return [c for c in SEGMENT_COLUMNS if c in self.frame.columns]

    def save(self, folder: str | Path) -> Path:
        """Write `dataset.parquet` (the frame) and `dataset.json` (summary, fingerprint, feature metadata)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.frame.to_parquet(folder / FRAME_FILE, index=False)
        doc = {
            "name": self.name, "fingerprint": self.fingerprint, **self.summary,
            "features": [dataclasses.asdict(f) for f in self.features],
        }
        (folder / SUMMARY_FILE).write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        self.path = folder
        return folder

    @classmethod
    def read(cls, folder: str | Path) -> LoanDataset:
        """A dataset written by `save` (or `techscore dataset`), categories restored exactly as built."""
        folder = Path(folder)
        doc = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
        features = [
            FeatureMeta(**{**f, "sources": tuple(f["sources"]), "categories": tuple(f.get("categories", ()))})
            for f in doc.pop("features")
        ]
        frame = pd.read_parquet(folder / FRAME_FILE)
        for column, categories in doc.get("categories", {}).items():
            if column in frame.columns:
                frame[column] = frame[column].astype("string").astype(pd.CategoricalDtype(categories))
        name = doc.pop("name", "dataset")
        fingerprint = doc.pop("fingerprint")
        return cls(frame=frame, features=features, fingerprint=fingerprint, name=name, summary=doc, path=folder)
