"""Datasets for modelling: loan-level point-in-time datasets and plain tabular data."""

from techscore.dataset.build import build_dataset, dataset_fingerprint, featurize
from techscore.dataset.frame import KEY_COLUMNS, LABEL, SEGMENT_COLUMNS, LoanDataset

__all__ = [
    "KEY_COLUMNS", "LABEL", "SEGMENT_COLUMNS", "LoanDataset", "build_dataset", "dataset_fingerprint", "featurize",
]
