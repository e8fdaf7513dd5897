"""The local streamed transcription session: VAD-delimited turns transcribed by Whisper."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from agents.voice import StreamedAudioInput

from voicelab.audio import PCM16_FULL_SCALE, first_audible_index, load_audio, resample, to_pcm16
from voicelab.clock import ManualClock
from voicelab.providers.local_config import WhisperConfig
from voicelab.providers.whisper_stt import FasterWhisperSTTModel

pytestmark = pytest.mark.slow
RATE_HZ = 24_000


def _pcm(path: Path) -> np.ndarray:
    return to_pcm16(resample(load_audio(path), RATE_HZ).samples)


@pytest.mark.parametrize("chunk_ms", [10, 100])
async def test_two_utterances_become_two_turns(shared_data: Path, chunk_ms: int) -> None:
    silence = np.zeros(RATE_HZ, dtype=np.int16)
    first = _pcm(shared_data / "ljspeech-sample" / "LJ001-0002.wav")
    second = _pcm(shared_data / "fsdd-sample" / "7_jackson_0.wav")
    stream = np.concatenate([silence, first, silence, second, silence])
    stt = FasterWhisperSTTModel()
    audio_input = StreamedAudioInput()  # type: ignore[no-untyped-call]
    clock = ManualClock(start_ns=42)
    session = await stt.create_session(audio_input, None, False, False)  # type: ignore[arg-type]
    session._clock = clock  # type: ignore[attr-defined]
    step = RATE_HZ * chunk_ms // 1000
    for start in range(0, len(stream), step):
        await audio_input.add_audio(stream[start : start + step])
    await audio_input.add_audio(None)
    turns = [t async for t in session.transcribe_turns()]
    assert len(turns) == 2, turns
    assert "comparatively modern" in turns[0].lower()
    assert "seven" in turns[1].lower() or "7" in turns[1]
    assert session.last_turn_detected_ns == 42  # type: ignore[attr-defined]


async def test_speech_cut_off_by_the_end_of_stream_is_still_a_turn(shared_data: Path) -> None:
    audio_input = StreamedAudioInput()  # type: ignore[no-untyped-call]
    session = await FasterWhisperSTTModel().create_session(audio_input, None, False, False)  # type: ignore[arg-type]
    clip = _pcm(shared_data / "ljspeech-sample" / "LJ001-0002.wav")
    await audio_input.add_audio(np.concatenate([np.zeros(RATE_HZ // 2, np.int16), clip[:-2000]]))
    await audio_input.add_audio(None)
    turns = await asyncio.wait_for(_collect(session), timeout=60)
    assert len(turns) == 1 and "comparatively" in turns[0].lower()


async def _collect(session) -> list[str]:  # type: ignore[no-untyped-def]
    return [t async for t in session.transcribe_turns()]


async def _turns(stream: np.ndarray, speculative: bool) -> tuple[list[str], object]:
    """The transcripts of ``stream`` fed in 20 ms chunks, and the session that made them."""
    audio_input = StreamedAudioInput()  # type: ignore[no-untyped-call]
    stt = FasterWhisperSTTModel(WhisperConfig(speculative=speculative))
    session = await stt.create_session(audio_input, None, False, False)  # type: ignore[arg-type]
    step = RATE_HZ * 20 // 1000
    for start in range(0, len(stream), step):
        await audio_input.add_audio(stream[start : start + step])
    await audio_input.add_audio(None)
    return await asyncio.wait_for(_collect(session), timeout=120), session


def _without_trailing_silence(pcm: np.ndarray) -> np.ndarray:
    last = first_audible_index(pcm[::-1], full_scale=PCM16_FULL_SCALE)
    assert last is not None
    return pcm[: len(pcm) - last]


@pytest.mark.parametrize("clip", ["ljspeech-sample/LJ001-0002.wav", "fsdd-sample/7_jackson_0.wav"])
async def test_speculative_transcript_is_the_fresh_transcript_of_the_same_audio(
    shared_data: Path, clip: str
) -> None:
    silence = np.zeros(RATE_HZ, dtype=np.int16)
    stream = np.concatenate([silence, _pcm(shared_data / clip), silence])
    speculated, session = await _turns(stream, speculative=True)
    fresh, plain = await _turns(stream, speculative=False)
    assert session.speculations_used == 1  # type: ignore[attr-defined]
    assert plain.speculations_started == 0  # type: ignore[attr-defined]
    assert len(speculated) == 1 and speculated == fresh


async def test_speech_resumed_in_the_silence_discards_the_speculation(shared_data: Path) -> None:
    first = _without_trailing_silence(_pcm(shared_data / "ljspeech-sample" / "LJ001-0002.wav"))
    second = _pcm(shared_data / "ljspeech-sample" / "LJ001-0008.wav")  # "has never been surpassed"
    pause = np.zeros(RATE_HZ * 350 // 1000, dtype=np.int16)  # > the 200 ms margin, < 500 ms VAD
    silence = np.zeros(RATE_HZ, dtype=np.int16)
    stream = np.concatenate([silence, first, pause, second, silence])
    speculated, session = await _turns(stream, speculative=True)
    fresh, _ = await _turns(stream, speculative=False)
    assert len(speculated) == 1, speculated  # one turn: the pause did not end it
    assert "comparatively modern" in speculated[0].lower()
    assert "surpassed" in speculated[0].lower()
    # a speculation started in the pause, was dropped when speech resumed, and the one used
    # covered the whole turn: the same text a fresh transcription of the turn gives
    assert session.speculations_started >= 2  # type: ignore[attr-defined]
    assert session.speculations_used == 1  # type: ignore[attr-defined]
    assert speculated == fresh


async def test_a_detected_turn_transcribed_as_empty_is_counted_not_passed_on(
    shared_data: Path,
) -> None:
    # at the very start of a stream, tiny.en hears no word in this 0.2 s "two" (nor does it
    # in the clip alone); with a second of silence before, it hears "Two."
    silence = np.zeros(RATE_HZ, dtype=np.int16)
    clip = _pcm(shared_data / "fsdd-sample" / "2_theo_3.wav")
    turns, session = await _turns(np.concatenate([clip, silence]), speculative=True)
    assert turns == []
    assert session.empty_turns == 1  # type: ignore[attr-defined]
