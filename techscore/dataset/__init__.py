"""Datasets for modelling: loan-level point-in-time datasets and plain tabular data, and the one place an
experiment spec becomes its dataset (`load_dataset`, `dataset_request`)."""

from techscore.dataset.build import build_dataset, dataset_fingerprint, featurize
from techscore.dataset.experiment import DatasetRequest, dataset_request, load_dataset
from techscore.dataset.frame import KEY_COLUMNS, LABEL, SEGMENT_COLUMNS, LoanDataset

__all__ = [
    "KEY_COLUMNS", "LABEL", "SEGMENT_COLUMNS", "DatasetRequest", "LoanDataset", "build_dataset", "dataset_fingerprint",
    "dataset_request", "featurize", "load_dataset",
]
