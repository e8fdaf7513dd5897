"""voicelab: compare voice-agent architectures on recorded speech.

Light to import: the local models and the Agents SDK load only when a pipeline is built.
"""

from voicelab.audio import AudioClip, load_audio, resample, save_audio
from voicelab.datasets import (
    Conversation,
    Dataset,
    ExpectedToolCall,
    Turn,
    load_dataset,
)
from voicelab.errors import (
    AudioError,
    ConfigError,
    ConnectionDroppedError,
    ConnectionFailedError,
    DatasetError,
    MissingDependencyError,
    ModelError,
    PipelineError,
    PipelineTimeoutError,
    RateLimitedError,
    RemoteTimeoutError,
    RequestRejectedError,
    ResultsError,
    ServerSideError,
    ServiceError,
    UnexpectedError,
    VoicelabError,
)
from voicelab.metrics import error_rates, latency_figures, load_price_table, normalize_english
from voicelab.pipelines.chained_config import ChainedConfig
from voicelab.pipelines.feeding import FeedConfig
from voicelab.pipelines.realtime_config import RealtimeConfig
from voicelab.registry import PipelineOptions, build_pipeline
from voicelab.report import summarize
from voicelab.results import SCHEMA, load_run
from voicelab.runner import RunOptions, run_dataset
from voicelab.timeline import Event, Timeline
from voicelab.turn_result import ToolCall, TurnResult, Usage

__version__ = "0.1.0"

__all__ = [
    "SCHEMA",
    "AudioClip",
    "AudioError",
    "ChainedConfig",
    "ConfigError",
    "ConnectionDroppedError",
    "ConnectionFailedError",
    "Conversation",
    "Dataset",
    "DatasetError",
    "Event",
    "ExpectedToolCall",
    "FeedConfig",
    "MissingDependencyError",
    "ModelError",
    "PipelineError",
    "PipelineOptions",
    "PipelineTimeoutError",
    "RateLimitedError",
    "RealtimeConfig",
    "RemoteTimeoutError",
    "RequestRejectedError",
    "ResultsError",
    "RunOptions",
    "ServerSideError",
    "ServiceError",
    "Timeline",
    "ToolCall",
    "Turn",
    "TurnResult",
    "UnexpectedError",
    "Usage",
    "VoicelabError",
    "build_pipeline",
    "error_rates",
    "latency_figures",
    "load_audio",
    "load_dataset",
    "load_price_table",
    "load_run",
    "normalize_english",
    "resample",
    "run_dataset",
    "save_audio",
    "summarize",
]
