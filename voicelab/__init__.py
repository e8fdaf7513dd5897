"""voicelab: compare voice-agent architectures on recorded speech.

Light to import: the local models and the Agents SDK load only when a pipeline is built.
"""

from typing import TYPE_CHECKING

from voicelab.agent.loading import LoadedAgent, load_agent
from voicelab.audio import AudioClip, load_audio, resample, save_audio
from voicelab.calibration import (
    CALIBRATED_STAGES,
    CalibrationPair,
    calibration_pairs,
    floor_delay_s,
)
from voicelab.costs import cost_summary, reprice
from voicelab.datasets import (
    Condition,
    Conversation,
    Dataset,
    ExpectedToolCall,
    Turn,
    apply_conditions,
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
    NoSpeechError,
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
    WorkerLostError,
)
from voicelab.execution.choose import ExecutionSettings, open_execution
from voicelab.execution.processes import ProcessExecutor
from voicelab.execution.ray_executor import RayExecutor
from voicelab.execution.recipe import PipelineRecipe
from voicelab.execution.retry import RetryPolicy
from voicelab.experiment import Experiment, load_experiment
from voicelab.metrics import error_rates, latency_figures, load_price_table, normalize_english
from voicelab.paired import PairedComparison, compare_runs
from voicelab.pipelines.base import Pipeline
from voicelab.pipelines.chained.config import (
    ChainedConfig,
    ChainedLocalConfig,
    ChainedOpenAIConfig,
)
from voicelab.pipelines.feeding import FeedConfig
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.providers.openai_endpoint import OpenAIEndpoint
from voicelab.rate_limits import RateLimits
from voicelab.registry import PIPELINES, build_pipeline
from voicelab.report import summarize
from voicelab.results import SCHEMA
from voicelab.run_folder import load_run
from voicelab.runner import RunOptions, run_dataset
from voicelab.speech_check import has_speech
from voicelab.stats import BootstrapConfig, summarize_ci
from voicelab.timeline import Event, Timeline
from voicelab.trials import pass_at_k, pass_hat_k, trial_summary, turn_succeeded
from voicelab.turn_result import ToolCall, TurnResult, Usage

if TYPE_CHECKING:
    from voicelab.server.runner import LocalServer, SubprocessServer
    from voicelab.server.state import ServerConfig

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """The local server's classes load the server stack only when asked for."""
    if name in ("LocalServer", "SubprocessServer", "ServerConfig"):
        from voicelab.server import runner, state

        return getattr(runner, name, None) or getattr(state, name)
    raise AttributeError(f"module 'voicelab' has no attribute {name!r}")


__all__ = [
    "CALIBRATED_STAGES",
    "PIPELINES",
    "SCHEMA",
    "AudioClip",
    "AudioError",
    "BootstrapConfig",
    "CalibrationPair",
    "ChainedConfig",
    "ChainedLocalConfig",
    "ChainedOpenAIConfig",
    "Condition",
    "ConfigError",
    "ConnectionDroppedError",
    "ConnectionFailedError",
    "Conversation",
    "Dataset",
    "DatasetError",
    "Event",
    "ExecutionSettings",
    "ExpectedToolCall",
    "Experiment",
    "FeedConfig",
    "LoadedAgent",
    "LocalServer",
    "MissingDependencyError",
    "ModelError",
    "NoSpeechError",
    "OpenAIEndpoint",
    "PairedComparison",
    "Pipeline",
    "PipelineError",
    "PipelineRecipe",
    "PipelineTimeoutError",
    "ProcessExecutor",
    "RateLimitedError",
    "RateLimits",
    "RayExecutor",
    "RealtimeConfig",
    "RemoteTimeoutError",
    "RequestRejectedError",
    "ResultsError",
    "RetryPolicy",
    "RunOptions",
    "ServerConfig",
    "ServerSideError",
    "ServiceError",
    "SubprocessServer",
    "Timeline",
    "ToolCall",
    "Turn",
    "TurnResult",
    "UnexpectedError",
    "Usage",
    "VoicelabError",
    "WorkerLostError",
    "apply_conditions",
    "build_pipeline",
    "calibration_pairs",
    "compare_runs",
    "cost_summary",
    "error_rates",
    "floor_delay_s",
    "has_speech",
    "latency_figures",
    "load_agent",
    "load_audio",
    "load_dataset",
    "load_experiment",
    "load_price_table",
    "load_run",
    "normalize_english",
    "open_execution",
    "pass_at_k",
    "pass_hat_k",
    "reprice",
    "resample",
    "run_dataset",
    "save_audio",
    "summarize",
    "summarize_ci",
    "trial_summary",
    "turn_succeeded",
]
