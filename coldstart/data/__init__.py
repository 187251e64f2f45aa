"""Canonical datasets, importers and the phantom generator."""

from .builder import DatasetBuilder
from .dataset import Dataset, list_datasets, open_dataset

__all__ = ["Dataset", "DatasetBuilder", "list_datasets", "open_dataset"]
