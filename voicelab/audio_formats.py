"""The audio formats voicelab speaks, defined once: every rate and wire format is named here."""

from __future__ import annotations

from typing import Any

PCM_RATE_HZ = 24_000
"""OpenAI's ``pcm``: 24 kHz mono PCM16 little-endian. The Agents SDK's ``AudioInput`` and
``StreamedAudioInput`` and its TTS output, ``/v1/audio/speech`` with ``response_format="pcm"`` and
the Realtime API's ``audio/pcm`` all use it, so a clip is resampled to it once before it is sent."""
PCM_SAMPLE_BYTES = 2  # PCM16: two bytes a sample
PCM_MEDIA_TYPE = "audio/pcm"  # the media type of raw PCM16 over HTTP and in Realtime sessions

WHISPER_RATE_HZ = 16_000  # Whisper models are trained on 16 kHz audio
VAD_RATE_HZ = 16_000  # Silero VAD's native rate (it also takes 8 kHz; voicelab feeds it 16 kHz)


def realtime_pcm_format() -> dict[str, Any]:
    """The Realtime API's ``audio.input/output.format`` for 24 kHz PCM16, as a fresh dict."""
    return {"type": PCM_MEDIA_TYPE, "rate": PCM_RATE_HZ}
