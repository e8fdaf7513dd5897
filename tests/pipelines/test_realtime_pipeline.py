"""RealtimePipeline over the Realtime protocol: the local cascade server, faults, and the cloud."""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from voicelab.clock import ManualClock
from voicelab.config_io import config_from_dict
from voicelab.datasets import load_dataset
from voicelab.datasets.types import Conversation, Dataset, Turn
from voicelab.demo.support_agent import SUPPORT_TOOLS, make_support_agent
from voicelab.errors import ConfigError, RequestRejectedError, ServerSideError
from voicelab.execution.retry import RetryPolicy
from voicelab.metrics.latency import latency_figures
from voicelab.pipelines.feeding import FeedConfig
from voicelab.pipelines.playback import PlaybackRecorder
from voicelab.pipelines.realtime.backend import realtime_url, websocket_base_url
from voicelab.pipelines.realtime.config import RealtimeConfig
from voicelab.pipelines.realtime.connection import ServerEvent
from voicelab.pipelines.realtime.pipeline import (
    RealtimeConversation,
    RealtimePipeline,
    build_realtime,
)
from voicelab.pipelines.realtime.replay import exchange_items, replay_item_id
from voicelab.pipelines.realtime.tools import RealtimeToolSet
from voicelab.pipelines.realtime.turn import RealtimeTurn
from voicelab.providers.openai_endpoint import OpenAIEndpoint
from voicelab.registry import build_pipeline
from voicelab.runner import RunOptions, run_dataset
from voicelab.server.faults import FaultConfig, FaultInjector, with_endpoint
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig
from voicelab.timeline import Event, Timeline, TimelineRecorder
from voicelab.turn_result import TurnResult

pytestmark = pytest.mark.slow

# A local turn takes 3-4 s; llama.cpp slows tenfold when other jobs share the 2 cores.
TURN_TIMEOUT_S = 120.0
ANSWER_ORDER = [
    Event.AUDIO_INPUT_START, Event.END_OF_SPEECH, Event.TURN_DETECTED, Event.RESPONSE_CREATED,
    Event.FIRST_AGENT_AUDIO, Event.LAST_AGENT_AUDIO, Event.RESPONSE_DONE,
]  # fmt: skip


def _local(base_url: str, **config: Any) -> RealtimePipeline:
    """The pipeline against a local server; "required" makes the 135M model call a tool."""
    settings = {"tool_choice": "required", "turn_timeout_s": TURN_TIMEOUT_S, **config}
    pipeline = build_pipeline("realtime", config=RealtimeConfig(base_url=base_url, **settings))
    assert isinstance(pipeline, RealtimePipeline)
    return pipeline


def _demo(demo_data: Path, conversations: int = 1) -> Dataset:
    dataset = load_dataset(demo_data)
    return Dataset(name=dataset.name, conversations=dataset.conversations[:conversations])


async def _one_turn(pipeline: RealtimePipeline, turn: Turn) -> TurnResult:
    """One turn in a conversation of its own."""
    state = await pipeline.start_conversation(turn.conversation_id)
    try:
        return await pipeline.run_turn(turn, state)
    finally:
        await pipeline.end_conversation(state)


def _assert_ordered(timeline: Timeline) -> None:
    """Answer events in protocol order; first audible is playback time, so may follow the last
    arrival when audio comes faster than real time."""
    stamps = [timeline.get(e) for e in ANSWER_ORDER]
    assert None not in stamps and stamps == sorted(stamps), timeline  # type: ignore[type-var]
    audible = timeline.get(Event.FIRST_AUDIBLE_AUDIO)
    assert audible is not None and audible >= timeline.stamps_ns[Event.FIRST_AGENT_AUDIO]


async def test_demo_conversation_with_server_vad(server: LocalServer, demo_data: Path) -> None:
    pipeline = _local(server.base_url)
    assert pipeline.describe()["backend"] == "local-cascade"
    conversation = _demo(demo_data).conversations[0]
    state = await pipeline.start_conversation(conversation.conversation_id)
    try:
        first = await pipeline.run_turn(conversation.turns[0], state)
        second = await pipeline.run_turn(conversation.turns[1], state)
    finally:
        await pipeline.end_conversation(state)
    assert first.error is None and second.error is None, (first.error, second.error)
    assert first.user_transcript and "452" in first.user_transcript
    assert first.agent_text.strip()
    assert first.agent_audio is not None and first.agent_audio.sample_rate_hz == 24_000
    assert first.agent_audio.duration_s > 0.3
    assert [(c.name, dict(c.arguments)) for c in first.tool_calls] == [
        ("lookup_order", {"order_id": "452"})
    ]
    assert first.tool_calls[0].output and "Friday" in first.tool_calls[0].output
    _assert_ordered(first.timeline)
    transcript_at = first.timeline.get(Event.TRANSCRIPT_FINAL)
    assert (
        transcript_at is not None and transcript_at >= first.timeline.stamps_ns[Event.END_OF_SPEECH]
    )
    figures = latency_figures(first.timeline)
    for column in ("voice_to_voice_s", "turn_total_s", "endpointing_s", "response_created_s"):
        value = figures[column]
        assert value is not None and math.isfinite(value) and value > 0, column
    assert first.input_audio_s is not None and figures["audio_send_s"] is not None
    assert figures["audio_send_s"] < first.input_audio_s / 4  # "fast" sends as fast as it can
    usage = first.usage
    assert usage.llm_requests == 2  # the tool call, then the answer
    assert usage.input_audio_tokens > 0 and usage.output_audio_tokens > 0
    assert usage.llm_input_tokens > 0 and usage.llm_output_tokens > 0
    assert second.usage.llm_input_tokens > first.usage.llm_input_tokens  # the session's history
    assert first.harness_overhead_s is not None and 0 <= first.harness_overhead_s < 0.5
    assert state.sessions == 1 and state.session_backend == "local-cascade"
    assert state.rate_limits and state.rate_limits[0]["name"] == "requests"


@pytest.mark.parametrize("turn_detection", ["manual", "server_vad"])
async def test_realtime_feed_is_paced_like_a_microphone(
    server: LocalServer, demo_data: Path, turn_detection: str
) -> None:
    feed = FeedConfig(mode="realtime", chunk_ms=20)
    pipeline = _local(server.base_url, turn_detection=turn_detection, feed=feed)
    turn = _demo(demo_data).conversations[0].turns[1]
    result = await _one_turn(pipeline, turn)
    assert result.error is None, result.error
    assert result.feed_mode == "realtime" and result.input_audio_s is not None
    send_s = result.timeline.seconds_between(Event.AUDIO_INPUT_START, Event.END_OF_SPEECH)
    assert send_s is not None and send_s >= result.input_audio_s - feed.chunk_ms / 1000
    assert send_s < result.input_audio_s + 1.0
    _assert_ordered(result.timeline)
    if turn_detection == "manual":  # the commit follows the last chunk at once
        endpointing = latency_figures(result.timeline)["endpointing_s"]
        assert endpointing is not None and endpointing < 0.5
    assert result.tool_calls and result.agent_audio is not None


async def test_dropped_socket_is_an_error_row_then_sessions_recover(
    server: LocalServer, demo_data: Path, tmp_path: Path
) -> None:
    faults = with_endpoint(FaultConfig(), "realtime", drop_rate=1.0, drop_after_chunks=3)
    conversation = _demo(demo_data).conversations[0]
    with LocalServer(ServerConfig(port=0, faults=faults)) as faulty:
        pipeline = _local(faulty.base_url)
        state = await pipeline.start_conversation(conversation.conversation_id)
        dropped = [await pipeline.run_turn(turn, state) for turn in conversation.turns]
        await pipeline.end_conversation(state)
    for turn, result in zip(conversation.turns, dropped, strict=True):
        assert result.error_type == "ConnectionDroppedError", result.error
        assert result.error_transient is True
        assert result.error and "closed" in result.error and turn.turn_id in result.error
        assert result.timeline.get(Event.END_OF_SPEECH) is not None
    assert isinstance(state, RealtimeConversation) and state.sessions == 2  # reopened for turn 2

    # the healthy server, reached by its explicit realtime URL; bad audio leaves the session be
    config = RealtimeConfig(
        tool_choice="required", input_transcription_model=None, url=server.realtime_url
    )
    healthy = build_realtime(OpenAIEndpoint(api_key="unused"), make_support_agent(), config)
    assert healthy.describe()["backend"] == "local-cascade"
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF....WAVEnot really")
    corrupt = Turn(conversation_id="after-the-drop", turn_index=0, audio=tmp_path / "corrupt.wav")
    state = await healthy.start_conversation("after-the-drop")
    try:
        unreadable = await healthy.run_turn(corrupt, state)
        result = await healthy.run_turn(conversation.turns[0], state)
    finally:
        await healthy.end_conversation(state)
    assert unreadable.error_type == "AudioError" and "corrupt.wav" in (unreadable.error or "")
    assert unreadable.error_transient is False
    assert result.error is None and result.agent_audio is not None, result.error
    assert result.user_transcript is None  # transcription disabled
    assert isinstance(state, RealtimeConversation) and state.sessions == 1


async def test_clips_without_speech_are_error_rows_and_nothing_is_sent(
    server: LocalServer,
    demo_data: Path,
    no_speech_turns: tuple[Turn, ...],
    assert_refused_as_no_speech: Callable[[pd.DataFrame], pd.DataFrame],
    tmp_path: Path,
) -> None:
    speech = _demo(demo_data).conversations[0].turns[0]
    turns = (*no_speech_turns, replace(speech, conversation_id="mute", turn_index=3))
    dataset = Dataset(
        name="mute", conversations=(Conversation(conversation_id="mute", turns=turns),)
    )
    # without the check, the server VAD waits for a turn that never comes, until the timeout
    frame = await run_dataset(_local(server.base_url), dataset, tmp_path / "run")
    refused = assert_refused_as_no_speech(frame)
    assert (refused[["input_audio_tokens", "output_audio_tokens"]] == 0).all().all()
    answered = frame.set_index("turn_id").loc["mute#3"]  # the session was left as it was
    assert pd.isna(answered["error"]) and answered["agent_audio_s"] > 0, answered["error"]


async def test_stalled_response_times_out_and_names_what_it_waited_for(
    demo_data: Path,
) -> None:
    faults = with_endpoint(FaultConfig(), "realtime", stall_rate=1.0, drop_after_chunks=2)
    turn = _demo(demo_data).conversations[0].turns[0]
    with LocalServer(ServerConfig(port=0, faults=faults)) as stalling:
        pipeline = _local(stalling.base_url, turn_timeout_s=3.0, turn_detection="manual")
        result = await _one_turn(pipeline, turn)
    assert result.error_type == "PipelineTimeoutError" and result.error_transient is True
    assert result.error and "timed out after 3 s waiting for response.done" in result.error


@pytest.mark.parametrize(
    ("status", "error_type"), [(429, "RateLimitedError"), (503, "ServerSideError")]
)
async def test_refused_session_is_a_transient_error_row(
    demo_data: Path, tmp_path: Path, status: int, error_type: str
) -> None:
    faults = with_endpoint(FaultConfig(), "realtime", error_rate=1.0, error_status=status)
    dataset = _demo(demo_data)
    with LocalServer(ServerConfig(port=0, faults=faults)) as refusing:
        frame = await run_dataset(_local(refusing.base_url), dataset, tmp_path / "run")
    assert len(frame) == dataset.num_turns
    assert frame["error_type"].tolist() == [error_type] * len(frame), frame["error"].tolist()
    assert frame["error_transient"].tolist() == [True] * len(frame)
    assert all(f"HTTP {status}" in error for error in frame["error"])


async def test_rejected_session_says_why_without_the_key(server: LocalServer) -> None:
    key = "sk-test-0123456789abcdefghij"
    endpoint = OpenAIEndpoint(api_key=key, base_url=server.base_url)
    pipeline = RealtimePipeline(
        endpoint=endpoint, agent=make_support_agent(), config=RealtimeConfig(model="gpt-nope")
    )
    with pytest.raises(RequestRejectedError) as rejected:
        await pipeline.start_conversation("rejected")
    assert not rejected.value.transient
    assert rejected.value.code == "model_not_found" and "gpt-nope" in str(rejected.value)
    assert key not in str(rejected.value) and key not in repr(pipeline.describe())


def _seed_with_drops(pattern: list[bool | None], **faults: Any) -> FaultConfig:
    """A fault config whose successive realtime connections drop as ``pattern`` says."""
    for seed in range(1000):
        config = with_endpoint(FaultConfig(seed=seed), "realtime", **faults)
        injector = FaultInjector(config)
        drops = [injector.plan("realtime").drop_after_chunks is not None for _ in pattern]
        if all(want is None or want == got for want, got in zip(pattern, drops, strict=True)):
            return config
    raise AssertionError(f"no seed below 1000 gives {pattern}")


async def test_run_dataset_retries_a_dropped_turn(demo_data: Path, tmp_path: Path) -> None:
    # connections: the backend probe, conversation 1 (dropped), its reopened session, conv. 2
    faults = _seed_with_drops([None, True, False, False], drop_rate=0.5, drop_after_chunks=3)
    dataset = _demo(demo_data, conversations=2)
    options = RunOptions(retry=RetryPolicy(base_delay_s=0.01))
    with LocalServer(ServerConfig(port=0, faults=faults)) as server:
        frame = await run_dataset(
            _local(server.base_url), dataset, tmp_path / "run", options=options
        )
    assert len(frame) == dataset.num_turns == 4
    assert frame["error"].isna().all(), frame["error"].tolist()
    rows = frame.set_index("turn_id")
    assert rows.loc["order-status#0", "attempts"] == 2
    assert rows.loc["order-status#0", "retried_errors"] == '["ConnectionDroppedError"]'
    assert (rows.drop(index="order-status#0")["attempts"] == 1).all()
    assert (frame["architecture"] == "realtime").all() and (frame["pipeline"] == "realtime").all()
    assert (frame["backend"] == "local-cascade").all()
    ok = frame[frame["error"].isna()]
    assert ok["cost_usd"].notna().all() and (ok["cost_usd"] > 0).all()
    assert (ok["voice_to_voice_s"] > 0).all() and (ok["output_audio_tokens"] > 0).all()
    assert (tmp_path / "run" / "audio" / "refund#0.wav").exists()


async def test_a_reopened_session_is_told_the_conversation_so_far(
    server: LocalServer, demo_data: Path
) -> None:
    pipeline = _local(server.base_url)
    conversation = _demo(demo_data).conversations[0]
    state = await pipeline.start_conversation(conversation.conversation_id)
    try:
        first = await pipeline.run_turn(conversation.turns[0], state)
        assert first.ok and first.user_transcript and first.agent_text, first.error
        state.broken = "given up"  # what a failed turn leaves: the next turn opens a session
        second = await pipeline.run_turn(conversation.turns[1], state)
        assert second.ok and state.sessions == 2, second.error
        assert state.socket is not None
        for who, said in (("user", first.user_transcript), ("agent", first.agent_text)):
            await state.socket.send(
                {"type": "conversation.item.retrieve", "item_id": replay_item_id(0, who)}
            )
            item = (await state.socket.expect("conversation.item.retrieved")).data["item"]
            assert item["content"][0]["text"] == said
    finally:
        await pipeline.end_conversation(state)


def test_an_exchange_without_a_transcript_replays_the_user_audio() -> None:
    pcm = np.array([1, -2, 3], dtype=np.int16)
    user, agent = exchange_items(4, None, pcm, "Your order shipped.")
    assert user["id"] == "replay_4_user" and user["role"] == "user"
    part = user["content"][0]
    assert part["type"] == "input_audio"
    assert np.frombuffer(base64.b64decode(part["audio"]), "<i2").tolist() == [1, -2, 3]
    assert agent["content"] == [{"type": "output_text", "text": "Your order shipped."}]


@pytest.mark.cloud
async def test_one_turn_against_openai(demo_data: Path) -> None:
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        pytest.skip("OPENAI_API_KEY is not set")
    pipeline = build_realtime(OpenAIEndpoint(api_key=key), make_support_agent(), RealtimeConfig())
    assert pipeline.describe()["backend"] == "openai"
    turn = _demo(demo_data).conversations[0].turns[0]
    result = await _one_turn(pipeline, turn)
    assert result.error is None, result.error
    assert key not in repr(pipeline.describe())
    assert result.agent_audio is not None and result.agent_audio.duration_s > 0.3
    assert result.usage.input_audio_tokens > 0 and result.usage.output_audio_tokens > 0
    assert result.user_transcript and "order" in result.user_transcript.lower()
    value = latency_figures(result.timeline)["voice_to_voice_s"]
    assert value is not None and value > 0


# --- the parts without a server: configuration, URLs, tools, and folding server events ---


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"feed": {"chunk_ms": 0}}, "chunk_ms"),
        ({"feed": {"mode": "slow"}}, "feed.mode"),
        ({"turn_detection": "semantic"}, "turn_detection"),
        ({"tool_choice": " "}, "tool_choice"),
        ({"turn_timeout_s": 0}, "turn_timeout_s"),
        ({"feed": {"trailing_silence_ms": 400}, "vad_silence_duration_ms": 500}, "never hears"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"chunk_ms": 20}, "unknown setting"),
        ({"request_timeout_s": "fast"}, "request_timeout_s"),
    ],
)
def test_config_rejects(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(RealtimeConfig, fields)


def test_manual_mode_sends_no_trailing_silence() -> None:
    manual = RealtimeConfig(turn_detection="manual")
    assert manual.feed.trailing_silence_ms == 800 and manual.sent_feed.trailing_silence_ms == 0
    vad = RealtimeConfig(feed=FeedConfig(trailing_silence_ms=700))
    assert vad.sent_feed.trailing_silence_ms == 700


@pytest.mark.parametrize(
    ("base_url", "url", "expected_url", "expected_base"),
    [
        (None, None, "wss://api.openai.com/v1/realtime", None),
        ("http://127.0.0.1:8765/v1", None, "ws://127.0.0.1:8765/v1/realtime", None),
        ("https://x.example/v1/", None, "wss://x.example/v1/realtime", None),
        (None, "wss://r.openai.azure.com/openai/v1/realtime?api-version=preview",
         "wss://r.openai.azure.com/openai/v1/realtime?api-version=preview",
         "wss://r.openai.azure.com/openai/v1?api-version=preview"),
    ],
)  # fmt: skip
def test_realtime_urls(
    base_url: str | None, url: str | None, expected_url: str, expected_base: str | None
) -> None:
    endpoint = OpenAIEndpoint(api_key="k", base_url=base_url)
    assert realtime_url(endpoint, url) == expected_url
    if url is not None:
        assert websocket_base_url(url) == expected_base


async def test_tool_set_shares_the_chained_agents_tools() -> None:
    def hours(day: str) -> str:
        """Opening hours on a day."""
        return f"{day}: 9 to 5"

    tools = RealtimeToolSet([*SUPPORT_TOOLS, hours])
    definitions = {d["name"]: d for d in tools.definitions()}
    assert list(definitions) == ["lookup_order", "check_refund", "search_faq", "hours"]
    lookup = definitions["lookup_order"]
    assert lookup["type"] == "function" and lookup["parameters"]["required"] == ["order_id"]
    call = await tools.invoke("lookup_order", "call_1", '{"order_id": "452"}')
    assert call.arguments == {"order_id": "452"} and call.output and "Friday" in call.output
    assert (await tools.invoke("hours", "call_2", '{"day": "Monday"}')).output == "Monday: 9 to 5"
    unknown = await tools.invoke("nope", "call_3", "{}")
    assert unknown.output and "no tool named 'nope'" in unknown.output
    with pytest.raises(ConfigError):
        RealtimeToolSet([SUPPORT_TOOLS[0], SUPPORT_TOOLS[0]])


def _turn(clock: ManualClock, manual: bool = True) -> RealtimeTurn:
    recorder = TimelineRecorder(clock)
    playback = PlaybackRecorder(recorder, 24_000, -40.0)
    return RealtimeTurn(recorder, playback, transcription=True, manual_commit=manual)


def _event(kind: str, at_ns: int, **data: Any) -> ServerEvent:
    return ServerEvent(kind, {"type": kind, **data}, at_ns)


def _done(usage: dict[str, Any], output: list[Any] | None = None, **response: Any) -> Any:
    return {"status": "completed", "usage": usage, "output": output or [], **response}


def test_turn_sums_usage_over_responses_and_stamps_arrivals() -> None:
    turn = _turn(ManualClock())
    call = {"type": "function_call", "name": "lookup_order", "call_id": "c1", "arguments": "{}"}
    first_usage = {
        "input_tokens": 130, "output_tokens": 12,
        "input_token_details": {"text_tokens": 100, "audio_tokens": 30, "cached_tokens": 64,
                                "cached_tokens_details": {"text_tokens": 40, "audio_tokens": 24}},
        "output_token_details": {"text_tokens": 12, "audio_tokens": 0},
    }  # fmt: skip
    second_usage = {
        "input_tokens": 150, "output_tokens": 60,
        "input_token_details": {"text_tokens": 120, "audio_tokens": 30, "cached_tokens": 0},
        "output_token_details": {"text_tokens": 10, "audio_tokens": 50},
    }  # fmt: skip
    events = [
        _event("input_audio_buffer.committed", 10, item_id="u1"),
        _event("response.created", 11),
        _event("response.output_item.done", 12, item=call),
        _event("response.done", 13, response=_done(first_usage, [call])),
        _event("conversation.item.input_audio_transcription.completed", 14, item_id="u1",
               transcript="where is order 452", usage={"type": "duration", "seconds": 2.5}),
        _event("response.created", 15),
        _event("response.output_audio_transcript.delta", 16, delta="It arrives "),
        _event("response.output_audio.delta", 17, delta="AAAAAA=="),  # 2 silent samples
        _event("response.output_audio_transcript.delta", 18, delta="Friday."),
        _event("response.done", 19, response=_done(second_usage)),
    ]  # fmt: skip
    calls = [turn.handle(e) for e in events]
    assert [c.name for batch in calls for c in batch] == ["lookup_order"]  # not twice
    assert calls[3] == [] and turn.answered and not turn.transcript_pending
    stamps = turn.recorder.freeze().stamps_ns
    assert stamps == {
        Event.TURN_DETECTED: 10, Event.RESPONSE_CREATED: 11, Event.TRANSCRIPT_FINAL: 14,
        Event.FIRST_AGENT_AUDIO: 17, Event.LAST_AGENT_AUDIO: 17, Event.RESPONSE_DONE: 19,
    }  # fmt: skip
    assert turn.agent_text == "It arrives Friday." and turn.user_transcript == "where is order 452"
    usage = turn.usage(input_audio_s=3.0)
    assert (usage.llm_requests, usage.llm_input_tokens, usage.llm_cached_input_tokens) == (
        2,
        220,
        40,
    )
    assert (usage.llm_output_tokens, usage.input_audio_tokens, usage.output_audio_tokens) == (
        22,
        60,
        50,
    )
    assert usage.stt_audio_s == 2.5


def test_turn_errors_and_superseded_responses() -> None:
    turn = _turn(ManualClock(), manual=False)
    turn.handle(_event("input_audio_buffer.speech_stopped", 5))
    cancelled = _done({}, status="cancelled", status_details={"reason": "turn_detected"})
    assert turn.handle(_event("response.done", 6, response=cancelled)) == []
    assert not turn.answered and turn.recorder.freeze().get(Event.TURN_DETECTED) == 5
    error = {"type": "invalid_request_error", "code": "bad_thing", "message": "Nope."}
    with pytest.raises(RequestRejectedError, match=r"bad_thing: Nope\.") as raised:
        turn.handle(_event("error", 7, error=error))
    assert raised.value.code == "bad_thing"
    assert not raised.value.transient
    failed = _done({}, status="failed", status_details={"error": {
        "type": "server_error", "code": "model_error", "message": "boom"}})  # fmt: skip
    with pytest.raises(ServerSideError, match="model_error: boom") as server_side:
        turn.handle(_event("response.done", 8, response=failed))
    assert server_side.value.transient
