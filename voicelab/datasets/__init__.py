"""Datasets: types, formats and their loaders, and recording conditions."""

from voicelab.datasets.condition_text import Condition, parse_condition, parse_conditions
from voicelab.datasets.conditions import apply_conditions
from voicelab.datasets.formats import FORMATS, DatasetFormat, detect_format, load_dataset
from voicelab.datasets.huggingface import HFColumns, load_hf_dataset
from voicelab.datasets.librispeech import load_librispeech
from voicelab.datasets.loaders import load_csv_manifest, load_folder, load_jsonl_manifest
from voicelab.datasets.types import Conversation, Dataset, ExpectedToolCall, Turn

__all__ = [
    "FORMATS",
    "Condition",
    "Conversation",
    "Dataset",
    "DatasetFormat",
    "ExpectedToolCall",
    "HFColumns",
    "Turn",
    "apply_conditions",
    "detect_format",
    "load_csv_manifest",
    "load_dataset",
    "load_folder",
    "load_hf_dataset",
    "load_jsonl_manifest",
    "load_librispeech",
    "parse_condition",
    "parse_conditions",
]
