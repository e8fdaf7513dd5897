"""Datasets: types and loaders."""

from voicelab.datasets.loaders import (
    load_csv_manifest,
    load_dataset,
    load_folder,
    load_jsonl_manifest,
)
from voicelab.datasets.types import Conversation, Dataset, ExpectedToolCall, Turn

__all__ = [
    "Conversation",
    "Dataset",
    "ExpectedToolCall",
    "Turn",
    "load_csv_manifest",
    "load_dataset",
    "load_folder",
    "load_jsonl_manifest",
]
