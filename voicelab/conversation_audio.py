"""A conversation as one stereo track on the measured clock: user left, agent right.

Within a turn every placement comes from the row's own timeline: the user's clip ends at
``end_of_speech`` (the last user sample handed to the pipeline, fed fast or paced) and the
agent's audio starts at ``first_agent_audio``, so the silence a listener hears between them is
the row's ``voice_to_voice_s`` (to the nearest sample), leading silence in the agent's audio
included. Each turn is timed by its own recorder, so the clock cannot run on between turns:
turn k+1's user audio starts ``turn_gap_s`` after turn k's last sound (agent audio end, or user
audio end when the agent said nothing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from voicelab.audio import AudioClip, FloatArray, resample
from voicelab.audio_formats import PCM_RATE_HZ
from voicelab.datasets.types import Turn
from voicelab.errors import AudioError, ResultsError
from voicelab.timeline import Event

TURN_GAP_S = 0.5  # pause between one turn's last sound and the next user audio


@dataclass(frozen=True, eq=False)
class StereoClip:
    """Two float32 channels of equal length in [-1, 1]: user (left) and agent (right)."""

    user: FloatArray
    agent: FloatArray
    sample_rate_hz: int

    @property
    def frames(self) -> FloatArray:
        """Frames x 2 (left = user, right = agent), as a WAV holds them."""
        return np.clip(np.stack([self.user, self.agent], axis=1), -1.0, 1.0)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.user) / self.sample_rate_hz


def conversation_stereo(
    rows: Sequence[Mapping[str, Any]],
    user_clips: Sequence[AudioClip | None],
    agent_clips: Sequence[AudioClip | None],
    *,
    sample_rate_hz: int = PCM_RATE_HZ,
    turn_gap_s: float = TURN_GAP_S,
) -> StereoClip:
    """One conversation's turns (rows in turn order, with their clips) on one stereo clock."""
    if not len(rows) == len(user_clips) == len(agent_clips):
        raise ResultsError(
            f"conversation_stereo: {len(rows)} rows, {len(user_clips)} user clips and "
            f"{len(agent_clips)} agent clips; give one of each per turn"
        )
    gap = round(turn_gap_s * sample_rate_hz)
    placed: list[tuple[str, int, FloatArray]] = []  # (channel, first sample, samples)
    cursor = 0
    for row, user_clip, agent_clip in zip(rows, user_clips, agent_clips, strict=True):
        user = resample(user_clip, sample_rate_hz).samples if user_clip else _silence()
        end_of_speech = cursor + len(user)
        placed.append(("user", cursor, user))
        turn_end = end_of_speech
        offset_s = _seconds(row, Event.END_OF_SPEECH, Event.FIRST_AGENT_AUDIO)
        if agent_clip is not None and offset_s is not None:
            start = end_of_speech + round(offset_s * sample_rate_hz)
            agent = resample(agent_clip, sample_rate_hz).samples
            placed.append(("agent", start, agent))
            turn_end = max(turn_end, start + len(agent))
        cursor = turn_end + gap
    length = max((start + len(samples) for _, start, samples in placed), default=0)
    channels = {"user": np.zeros(length, np.float32), "agent": np.zeros(length, np.float32)}
    for channel, start, samples in placed:
        channels[channel][start : start + len(samples)] += samples
    return StereoClip(channels["user"], channels["agent"], sample_rate_hz)


def _silence() -> FloatArray:
    return np.zeros(0, dtype=np.float32)


def _seconds(row: Mapping[str, Any], start: str, end: str) -> float | None:
    """Seconds between two of the row's timeline stamps; None if either is missing."""
    blob = row.get("timeline_ns")
    try:
        stamps = json.loads(blob) if isinstance(blob, str) and blob else {}
    except ValueError as e:
        raise ResultsError(f"turn {row.get('turn_id')}: timeline_ns is not JSON ({e})") from e
    a, b = stamps.get(start), stamps.get(end)
    return None if a is None or b is None else (b - a) / 1e9


def user_clip(turn: Turn) -> AudioClip | None:
    """The turn's user audio, or None when it cannot be read (its row records why)."""
    try:
        return turn.load_clip()
    except AudioError:
        return None


def save_stereo(clip: StereoClip, path: str | Path) -> Path:
    """Write a stereo clip as 16-bit PCM WAV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), clip.frames, clip.sample_rate_hz, subtype="PCM_16")
    return path
