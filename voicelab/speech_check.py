"""Refuse a clip with no speech in it before a pipeline sends it anywhere.

Given a click or ten minutes of silence, a pipeline still makes a row that looks like a turn:
Whisper invents a transcript, the agent answers it, and the answer is scored. Both pipelines
call ``require_speech`` on the loaded clip instead, so such a turn is an ``AudioError`` row.
"""

from __future__ import annotations

import asyncio

import numpy as np

from voicelab.audio import AudioClip, first_audible_index, resample
from voicelab.audio_formats import VAD_RATE_HZ
from voicelab.errors import AudioError, NoSpeechError
from voicelab.vad import WINDOW_SAMPLES, StreamingVAD, VadConfig

MIN_SPEECH_CLIP_S = 0.1
"""Shorter clips cannot hold a word (a syllable lasts 0.1-0.3 s) and cannot be a turn anywhere:
the Realtime API refuses to commit less than 100 ms of audio; it is three Silero VAD windows."""
SILENT_PEAK_DBFS = -60.0
"""A clip whose loudest sample is below this is silent: the quietest speech in the shared data
peaks at -34 dBFS. Such a clip is refused without the VAD, which takes ~5 s over 10 minutes."""
# ~2 s at 16 kHz: one model call scores 64 windows; a clip with speech stops at its first chunk
_VAD_CHUNK_SAMPLES = 64 * WINDOW_SAMPLES
# Silero scores speech at the very start of a stream low until its state settles (0.23 at worst
# on the shared FSDD digits, which start at once); after 0.1 s of silence, 0.77 at worst
_LEAD_IN_SAMPLES = VAD_RATE_HZ // 10
# where a short word falls across the 32 ms windows changes its score: a clip the first pass
# hears nothing in is scored again, half a window later
_PHASES = (0, WINDOW_SAMPLES // 2)


async def require_speech(clip: AudioClip, vad_config: VadConfig | None = None) -> None:
    """Raise ``AudioError`` for a clip too short to hold speech, ``NoSpeechError`` for one the
    Silero VAD (at the ``server_vad`` defaults) hears no speech in; the VAD runs in a thread."""
    if clip.duration_s < MIN_SPEECH_CLIP_S:
        raise AudioError(
            f"{clip.source}: clip is too short to hold speech ({clip.duration_s * 1000:.1f} ms; "
            f"at least {MIN_SPEECH_CLIP_S * 1000:.0f} ms is needed)"
        )
    config = vad_config or VadConfig()
    if not await asyncio.to_thread(has_speech, clip, config):
        raise NoSpeechError(
            f"{clip.source}: no speech detected in {clip.duration_s:.1f} s of audio (Silero VAD "
            f"at threshold {config.threshold:g}); check that the file holds the user's speech "
            "and is not silent or noise only"
        )


def has_speech(clip: AudioClip, vad_config: VadConfig | None = None) -> bool:
    """Blocking: whether any 32 ms window of the clip reaches the VAD's speech threshold."""
    if first_audible_index(clip.samples, SILENT_PEAK_DBFS) is None:
        return False
    samples = resample(clip, VAD_RATE_HZ).samples  # whole-clip resampling: no stream delay
    for phase in _PHASES:
        vad = StreamingVAD(vad_config)
        vad.push(np.zeros(_LEAD_IN_SAMPLES + phase, dtype=np.float32))
        for start in range(0, len(samples), _VAD_CHUNK_SAMPLES):
            if vad.push(samples[start : start + _VAD_CHUNK_SAMPLES]):  # the first speech ends it
                return True
    return False
