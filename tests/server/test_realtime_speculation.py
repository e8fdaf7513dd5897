"""Speculative transcription in ``voicelab serve``'s realtime input with server VAD."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from agents.voice import OpenAIVoiceModelProvider, StreamedAudioInput, STTModelSettings

from voicelab.audio import PCM16_FULL_SCALE, first_audible_index, load_audio, resample, to_pcm16
from voicelab.server.runner import LocalServer
from voicelab.server.state import ServerConfig

pytestmark = pytest.mark.slow
RATE_HZ = 24_000
TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[bool, LocalServer]]:
    """Two local servers sharing the models: speculative transcription on and off."""
    on = LocalServer(ServerConfig(port=0)).start()
    off = LocalServer(ServerConfig(port=0, speculative_stt=False)).start()  # cached models
    try:
        yield {True: on, False: off}
    finally:
        on.stop()
        off.stop()


def _pcm(path: Path, trim_end: bool = False) -> np.ndarray:
    pcm = to_pcm16(resample(load_audio(path), RATE_HZ).samples)
    if trim_end:
        last = first_audible_index(pcm[::-1], full_scale=PCM16_FULL_SCALE)
        assert last is not None
        pcm = pcm[: len(pcm) - last]
    return pcm


async def _transcripts(server: LocalServer, samples: np.ndarray) -> list[str]:
    """The SDK's streamed STT against ``server`` (server VAD), fed in 100 ms chunks."""
    provider = OpenAIVoiceModelProvider(base_url=server.base_url, api_key="unused")
    stt = provider.get_stt_model("gpt-4o-transcribe")
    audio = StreamedAudioInput()  # type: ignore[no-untyped-call]
    session = await stt.create_session(audio, STTModelSettings(), False, False)
    for start in range(0, len(samples), RATE_HZ // 10):
        await audio.add_audio(samples[start : start + RATE_HZ // 10])
    await audio.add_audio(None)

    async def turns() -> list[str]:
        return [turn async for turn in session.transcribe_turns()]

    return await asyncio.wait_for(turns(), TIMEOUT_S)


def _used(caplog: pytest.LogCaptureFixture) -> int:
    return sum("speculative transcription" in r.getMessage() for r in caplog.records)


async def test_speculative_transcript_equals_the_fresh_one(
    servers: dict[bool, LocalServer], shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    silence = np.zeros(RATE_HZ, dtype=np.int16)
    speech = _pcm(shared_data / "ljspeech-sample" / "LJ001-0002.wav")
    stream = np.concatenate([silence, speech, silence])
    with caplog.at_level(logging.DEBUG, logger="voicelab.server"):
        speculated = await _transcripts(servers[True], stream)
        assert _used(caplog) == 1
        fresh = await _transcripts(servers[False], stream)
        assert _used(caplog) == 1  # the other server did not speculate
    assert len(speculated) == 1 and "comparatively modern" in speculated[0].lower()
    assert speculated == fresh


async def test_speech_resumed_in_the_silence_discards_the_speculation(
    servers: dict[bool, LocalServer], shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = _pcm(shared_data / "ljspeech-sample" / "LJ001-0002.wav", trim_end=True)
    second = _pcm(shared_data / "ljspeech-sample" / "LJ001-0008.wav")
    pause = np.zeros(RATE_HZ * 350 // 1000, dtype=np.int16)  # > the 200 ms margin, < 500 ms VAD
    silence = np.zeros(RATE_HZ, dtype=np.int16)
    stream = np.concatenate([silence, first, pause, second, silence])
    with caplog.at_level(logging.DEBUG, logger="voicelab.server"):
        speculated = await _transcripts(servers[True], stream)
    fresh = await _transcripts(servers[False], stream)
    assert len(speculated) == 1, speculated  # the pause did not end the turn
    assert "comparatively modern" in speculated[0].lower()
    assert "surpassed" in speculated[0].lower()  # not the speculation made in the pause
    assert _used(caplog) == 1
    assert speculated == fresh
