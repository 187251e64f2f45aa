"""Canonical datasets, importers and the phantom generator."""

from .builder import DatasetBuilder
from .dataset import MISSING_LABEL, Dataset, as_dataset, is_labeled, list_datasets, open_dataset

__all__ = ["MISSING_LABEL", "Dataset", "DatasetBuilder", "as_dataset", "is_labeled", "list_datasets",
           "open_dataset"]
