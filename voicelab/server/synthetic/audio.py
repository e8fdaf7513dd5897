"""Synthetic speech engines: a fixed transcript for any clip, a short tone for any text."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np

from voicelab.audio import AudioClip, to_pcm16
from voicelab.audio_formats import PCM_RATE_HZ, PCM_SAMPLE_BYTES

SYNTHETIC_TRANSCRIPT = "Where is my order 381?"
"""What every clip is heard as (an order the demo agent knows)."""
TONE_HZ = 440.0  # concert A: plainly audible, and plainly not speech
TONE_S = 0.5  # short, so a streamed answer is a few chunks
TONE_AMPLITUDE = 0.3  # about -10 dBFS, above any silence threshold
_FADE_S = 0.01  # ramps in and out, so the tone starts and ends without a click
CHUNK_S = 0.1  # streamed like the local voice: several chunks per answer


class SyntheticTranscriber:
    """Hears ``SYNTHETIC_TRANSCRIPT`` in every clip, whatever it holds."""

    model_name = "synthetic-stt"

    async def atranscribe_clip(self, clip: AudioClip) -> str:
        """The fixed transcript (the clip was already decoded and checked by the caller)."""
        return SYNTHETIC_TRANSCRIPT


def tone_pcm16(
    seconds: float = TONE_S, frequency_hz: float = TONE_HZ, rate_hz: int = PCM_RATE_HZ
) -> bytes:
    """A sine tone with faded edges as PCM16 bytes."""
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    wave = TONE_AMPLITUDE * np.sin(2 * np.pi * frequency_hz * t)
    fade = min(round(_FADE_S * rate_hz), wave.size // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
    return to_pcm16(wave.astype(np.float32)).tobytes()


class SyntheticSpeech:
    """Speaks any text as the same short tone, streamed in ``CHUNK_S`` pieces at 24 kHz."""

    model_name = "synthetic-tts"

    def __init__(self) -> None:
        self._tone = tone_pcm16()
        self._chunk_bytes = round(CHUNK_S * PCM_RATE_HZ) * PCM_SAMPLE_BYTES

    async def astream_pcm16(self, text: str) -> AsyncIterator[bytes]:
        """The tone, chunk by chunk (the text only has to be there)."""
        for start in range(0, len(self._tone), self._chunk_bytes):
            yield self._tone[start : start + self._chunk_bytes]
