"""The live demo's engine, no UI: pipelines built once per name, one turn run through each."""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from voicelab.datasets import Conversation, Dataset, Turn
from voicelab.errors import VoicelabError
from voicelab.pipelines.base import Pipeline
from voicelab.registry import PIPELINES, build_pipeline
from voicelab.runner import RunOptions, run_dataset

if TYPE_CHECKING:
    from agents import Agent

    from voicelab.server.runner import LocalServer

LOCAL_TOOL_CHOICE = "required"  # the embedded 135M model cannot decide on its own to call a tool


@dataclass(frozen=True)
class LiveOutcome:
    """What one pipeline made of one turn: its result row, the agent's speech, or an error."""

    pipeline: str
    frame: pd.DataFrame
    """The turn's row (the run table's columns); empty when the pipeline could not be built."""
    agent_wav: bytes | None
    """The agent's speech as a WAV file, None if there was none."""
    error: str | None
    """Why the turn failed (the row's error, or why the pipeline could not be built)."""

    @property
    def row(self) -> pd.Series:
        """The turn's row."""
        return self.frame.iloc[0]


def _error_message(error: BaseException) -> str:
    return str(error) if isinstance(error, VoicelabError) else f"{type(error).__name__}: {error}"


class LiveSession:
    """Run single turns through named pipelines, each built once (models load once).

    Pipelines that talk to an OpenAI-compatible endpoint (``chained-openai``, ``realtime``) run
    against a ``LocalServer`` started on first use, unless ``api_key`` is given (then OpenAI) or
    ``configs`` names their ``base_url``.
    """

    def __init__(
        self,
        *,
        agent: Agent[Any] | None = None,
        configs: Mapping[str, Any] | None = None,
        api_key: str | None = None,
        work_dir: str | Path | None = None,
    ) -> None:
        self.agent = agent
        self.configs = dict(configs or {})
        self.api_key = api_key
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="voicelab-live-"))
        self._pipelines: dict[str, Pipeline] = {}
        self._server: LocalServer | None = None
        self._lock = threading.Lock()
        self._runs = 0

    @property
    def names(self) -> list[str]:
        """The registered pipeline names this session can run."""
        return list(PIPELINES)

    @property
    def server(self) -> LocalServer | None:
        """The local server, once a pipeline has needed it."""
        return self._server

    def _needs_server(self, name: str) -> bool:
        fields = {f.name for f in dataclasses.fields(PIPELINES[name].config_class)}
        return "base_url" in fields and self.api_key is None and name not in self.configs

    def _config(self, name: str) -> Any:
        if not self._needs_server(name):
            return self.configs.get(name)
        if self._server is None:
            from voicelab.server.runner import LocalServer
            from voicelab.server.state import ServerConfig

            self._server = LocalServer(ServerConfig(port=0)).start()
        return PIPELINES[name].config_class(
            base_url=self._server.base_url, tool_choice=LOCAL_TOOL_CHOICE
        )

    def pipeline(self, name: str) -> Pipeline:
        """The pipeline registered as ``name``, built (and its models loaded) on first use."""
        with self._lock:
            if name not in self._pipelines:
                self._pipelines[name] = build_pipeline(
                    name, agent=self.agent, config=self._config(name), api_key=self.api_key
                )
            return self._pipelines[name]

    async def run(self, turn: Turn, names: Sequence[str]) -> list[LiveOutcome]:
        """Run ``turn`` through each named pipeline in turn; failures come back as outcomes."""
        self._runs += 1
        outcomes = []
        for name in names:
            out_dir = self.work_dir / f"{self._runs:03d}-{name}"
            try:
                pipeline = await asyncio.to_thread(self.pipeline, name)
                outcomes.append(await self._run_one(pipeline, turn, out_dir))
            except Exception as e:  # the UI boundary: shown as a message, never a traceback
                outcomes.append(LiveOutcome(name, pd.DataFrame(), None, _error_message(e)))
        return outcomes

    async def _run_one(self, pipeline: Pipeline, turn: Turn, out_dir: Path) -> LiveOutcome:
        conversation = Conversation(conversation_id=turn.conversation_id, turns=(turn,))
        dataset = Dataset(name="live", conversations=(conversation,))
        frame = await run_dataset(pipeline, dataset, out_dir, options=RunOptions(save_audio=True))
        error = frame["error"].iloc[0]
        audio_path = out_dir / "audio" / f"{turn.turn_id}.wav"
        return LiveOutcome(
            pipeline.name,
            frame,
            audio_path.read_bytes() if audio_path.is_file() else None,
            None if pd.isna(error) else str(error),
        )

    def close(self) -> None:
        """Stop the local server if one was started."""
        if self._server is not None:
            self._server.stop()
            self._server = None
