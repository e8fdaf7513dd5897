"""The components of chained-local called directly on what the pipeline gave them in a turn.

``WithDirectCalls`` wraps a chained-local pipeline: during each turn, capturing subclasses of
its own STT, TTS and chat engine note their inputs (the audio Whisper transcribed, every chat
request, the first text sent to Piper); after the turn, with the pipeline idle, the same
components run on the same inputs alone, and their times are kept beside the turn's stages.

The llama.cpp model keeps the KV cache of its last request, and a new request reuses the
longest common prefix. So that the direct call meets the cache the pipeline's call met, the
request the model served just before the turn is replayed first (untimed), then the turn's
requests in order; the model is left as the pipeline left it, so later turns are unaffected.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents import OpenAIChatCompletionsModel
from agents.voice import TTSModelSettings
from budget_tables import ChunkTimes, agent_stage_times

from voicelab import AudioClip, Turn, TurnResult
from voicelab.pipelines.chained.pipeline import ChainedPipeline
from voicelab.providers.inprocess_client import inprocess_openai_client
from voicelab.providers.llama_chat import LlamaChatEngine, PrefillStats
from voicelab.providers.local_config import LlamaConfig
from voicelab.providers.piper_tts import PiperTTSModel
from voicelab.providers.whisper_stt import FasterWhisperSTTModel

Request = Mapping[str, Any]


@dataclass
class TurnCapture:
    """What the components were given in one turn."""

    stt_clips: list[AudioClip] = field(default_factory=list)
    tts_texts: list[str] = field(default_factory=list)
    first_request: int | None = None
    """Index in the model's request log of the turn's first chat request."""
    last_request: int | None = None


@dataclass
class ServedRequest:
    """A chat request the model served, and whether its answer was read to the end."""

    request: Request
    finished: bool = False
    prefill: PrefillStats | None = None
    """How its prompt met the KV cache: a replay must meet it the same way."""


class RequestLog:
    """Every chat request one llama.cpp model served, in order, across all pipelines on it."""

    def __init__(self) -> None:
        self.requests: list[ServedRequest] = []

    def add(self, request: Request, capture: TurnCapture) -> ServedRequest:
        """Note a request of the turn being captured."""
        index = len(self.requests)
        self.requests.append(ServedRequest(request))
        if capture.first_request is None:
            capture.first_request = index
        capture.last_request = index
        return self.requests[-1]


class _Capture:
    """The turn being captured, shared by the three capturing components of a pipeline."""

    def __init__(self) -> None:
        self.turn = TurnCapture()


class CapturingWhisper(FasterWhisperSTTModel):
    """Whisper that notes every clip it transcribes."""

    def __init__(self, inner: FasterWhisperSTTModel, capture: _Capture) -> None:
        super().__init__(inner.config, inner.vad_config)
        self._capture = capture

    def segment_texts(self, clip: AudioClip) -> Iterator[str]:
        self._capture.turn.stt_clips.append(clip)
        yield from super().segment_texts(clip)


class CapturingPiper(PiperTTSModel):
    """Piper that notes every text it is asked to speak."""

    def __init__(self, inner: PiperTTSModel, capture: _Capture) -> None:
        super().__init__(inner.config)
        self._capture = capture

    async def run(self, text: str, settings: TTSModelSettings) -> AsyncIterator[bytes]:
        self._capture.turn.tts_texts.append(text)
        async for pcm in super().run(text, settings):
            yield pcm


class CapturingEngine(LlamaChatEngine):
    """The chat engine that notes every request it serves in the model's request log."""

    def __init__(self, config: LlamaConfig, log: RequestLog, capture: _Capture) -> None:
        super().__init__(config)
        self._log = log
        self._capture = capture

    def stream(self, request: Request) -> Iterator[dict[str, Any]]:
        served = self._log.add(request, self._capture.turn)
        yield from super().stream(request)
        served.finished = True
        served.prefill = self.last_prefill


def _agent_engine(pipeline: ChainedPipeline) -> LlamaChatEngine:
    """The engine behind chained-local's agent model, held by its in-process client's
    transport (private attributes of the SDK model, openai and httpx, read here only)."""
    path = ("_client", "_client", "_transport", "_engine")
    engine: Any = pipeline.agent_model
    for name in path:
        engine = getattr(engine, name, None)
    if not isinstance(engine, LlamaChatEngine):
        raise SystemExit(
            "latency_budget: chained-local's agent model no longer reaches its LlamaChatEngine "
            f"through {'.'.join(path)}; update budget_components._agent_engine"
        )
    return engine


def _cache_met(prefill: PrefillStats | None) -> tuple[int, int] | None:
    """How a prompt met the KV cache (its threads are the moment's, not the work's)."""
    return None if prefill is None else (prefill.prompt_tokens, prefill.cached_tokens)


async def time_chat(engine: LlamaChatEngine, request: Request) -> ChunkTimes:
    """Run ``request`` on the engine as the pipeline does (a worker thread), timing each chunk."""
    seconds: list[float] = []
    texts: list[str] = []
    calls: list[bool] = []
    start = time.perf_counter()
    async for chunk in engine.astream(request):
        now = time.perf_counter() - start
        delta = chunk["choices"][0]["delta"] if chunk.get("choices") else {}
        seconds.append(now)
        texts.append(delta.get("content") or "")
        calls.append(bool(delta.get("tool_calls")))
    return ChunkTimes(tuple(seconds), tuple(texts), tuple(calls), time.perf_counter() - start)


async def time_whisper(stt: FasterWhisperSTTModel, clip: AudioClip) -> float:
    """Seconds Whisper takes on ``clip`` alone (in a worker thread), to the whole transcript."""
    start = time.perf_counter()
    await stt.atranscribe_clip(clip)
    return time.perf_counter() - start


async def time_piper(tts: PiperTTSModel, text: str) -> float:
    """Seconds Piper takes on ``text`` alone (in a worker thread), to its first audio bytes."""
    start = time.perf_counter()
    chunks = tts.astream_pcm16(text)
    try:
        async for pcm in chunks:
            if pcm:
                return time.perf_counter() - start
    finally:  # piper stops before its next sentence
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
    return float("nan")


class WithDirectCalls:
    """A chained-local pipeline whose components, after each turn, run alone on its inputs.

    It is the pipeline as far as the runner can tell (same name, description and config hash);
    the direct calls happen after the turn's result is complete, so they time nothing of it.
    """

    def __init__(self, pipeline: Any, logs: dict[int, RequestLog]) -> None:
        if not isinstance(pipeline, ChainedPipeline):
            raise SystemExit(f"latency_budget: {pipeline.name} is not a chained pipeline")
        self.inner = pipeline
        self._capture = _Capture()
        stt, tts = pipeline.stt_model, pipeline.tts_model
        assert isinstance(stt, FasterWhisperSTTModel) and isinstance(tts, PiperTTSModel)
        engine = _agent_engine(pipeline)
        self._log = logs.setdefault(id(engine._llm), RequestLog())
        pipeline.stt_model = CapturingWhisper(stt, self._capture)
        pipeline.tts_model = CapturingPiper(tts, self._capture)
        capturing = CapturingEngine(engine.config, self._log, self._capture)
        pipeline.agent_model = OpenAIChatCompletionsModel(
            model=capturing.model_name, openai_client=inprocess_openai_client(capturing)
        )
        self._whisper = FasterWhisperSTTModel(stt.config, stt.vad_config)
        self._piper = PiperTTSModel(tts.config)
        self._engine = LlamaChatEngine(engine.config)
        self.direct: dict[str, dict[str, float]] = {}
        """The turn's audio source -> each stage's time with the component alone."""
        self.unreplayable = 0
        """Turns whose chat requests were not all read to the end: a replay would not meet the
        cache the pipeline met, so the model alone is not timed for them."""
        self.diverged = 0
        """Turns whose replay met the KV cache otherwise than the pipeline did, or answered
        otherwise: not the same work, so the model alone is not timed for them."""

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def architecture(self) -> str:
        return self.inner.architecture

    @property
    def backend(self) -> str:
        return self.inner.backend

    def models(self) -> Mapping[str, str]:
        return self.inner.models()

    def describe(self) -> Mapping[str, Any]:
        return self.inner.describe()

    async def start_conversation(self, conversation_id: str) -> Any:
        return await self.inner.start_conversation(conversation_id)

    async def end_conversation(self, state: Any) -> None:
        await self.inner.end_conversation(state)

    async def run_turn(self, turn: Turn, state: Any) -> TurnResult:
        self._capture.turn = TurnCapture()
        result = await self.inner.run_turn(turn, state)
        if result.ok:
            alone = await self._alone(self._capture.turn, result.agent_text)
            self.direct[turn.audio_source] = alone
        return result

    async def _replay(self, capture: TurnCapture) -> list[ServedRequest]:
        """The turn's chat requests to time, after the one before them replayed untimed (the
        KV cache as the turn's first request found it); none if that cannot be exact."""
        first, last = capture.first_request, capture.last_request
        if first is None or last is None:
            return []
        served = self._log.requests[max(0, first - 1) : last + 1]
        if not all(s.finished for s in served):
            self.unreplayable += 1
            return []
        if first > 0:
            await time_chat(self._engine, served[0].request)
        return served[1 if first > 0 else 0 :]

    async def _alone(self, capture: TurnCapture, agent_text: str) -> dict[str, float]:
        """Each component on this turn's inputs, alone, called as the pipeline calls it."""
        nan = float("nan")
        figures = {"stt_s": await time_whisper(self._whisper, capture.stt_clips[-1])}
        requests, same_cache = [], True
        for served in await self._replay(capture):
            requests.append(await time_chat(self._engine, served.request))
            same_cache &= _cache_met(self._engine.last_prefill) == _cache_met(served.prefill)
        replayed = "".join(text for r in requests for text in r.texts)
        if requests and (not same_cache or replayed.split() != agent_text.split()):
            self.diverged += 1
            requests = []
        first_tts = capture.tts_texts[0] if capture.tts_texts else None
        figures.update(agent_stage_times(requests, first_tts))
        figures["tts_ttfb_s"] = await time_piper(self._piper, first_tts) if first_tts else nan
        return figures
