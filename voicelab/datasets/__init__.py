"""Datasets: types, formats and their loaders."""

from voicelab.datasets.formats import FORMATS, DatasetFormat, detect_format, load_dataset
from voicelab.datasets.huggingface import HFColumns, load_hf_dataset
from voicelab.datasets.librispeech import load_librispeech
from voicelab.datasets.loaders import load_csv_manifest, load_folder, load_jsonl_manifest
from voicelab.datasets.types import Conversation, Dataset, ExpectedToolCall, Turn

__all__ = [
    "FORMATS",
    "Conversation",
    "Dataset",
    "DatasetFormat",
    "ExpectedToolCall",
    "HFColumns",
    "Turn",
    "detect_format",
    "load_csv_manifest",
    "load_dataset",
    "load_folder",
    "load_hf_dataset",
    "load_jsonl_manifest",
    "load_librispeech",
]
