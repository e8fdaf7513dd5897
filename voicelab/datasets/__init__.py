"""Datasets: types, loaders and recording conditions."""

from voicelab.datasets.condition_text import Condition, parse_condition, parse_conditions
from voicelab.datasets.conditions import apply_conditions
from voicelab.datasets.loaders import (
    load_csv_manifest,
    load_dataset,
    load_folder,
    load_jsonl_manifest,
)
from voicelab.datasets.types import Conversation, Dataset, ExpectedToolCall, Turn

__all__ = [
    "Condition",
    "Conversation",
    "Dataset",
    "ExpectedToolCall",
    "Turn",
    "apply_conditions",
    "load_csv_manifest",
    "load_dataset",
    "load_folder",
    "load_jsonl_manifest",
    "parse_condition",
    "parse_conditions",
]
