"""A microphone recorder widget: the browser's MediaRecorder, the recording back as WAV bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from voicelab.audio import AudioClip, decode_audio_bytes
from voicelab.errors import AudioError


def _bytes_from_json(value: Any, widget: Any) -> bytes:
    """The browser sends the WAV as a binary buffer (a memoryview here)."""
    return bytes(value) if value is not None else b""


class MicRecorder(anywidget.AnyWidget):
    """Record from the browser's microphone; ``wav`` holds the last recording (mono PCM16)."""

    _esm = Path(__file__).with_name("recorder.js")

    wav = traitlets.Bytes(b"").tag(sync=True, from_json=_bytes_from_json)
    """The last recording as a WAV file, empty until one is made."""
    error = traitlets.Unicode("").tag(sync=True)
    """Why the last recording failed (microphone refused, decoding failed), else empty."""
    status_text = traitlets.Unicode("press Record, speak, press Stop").tag(sync=True)
    """What the widget says before the first recording."""

    def clip(self) -> AudioClip:
        """The last recording as a clip, or an AudioError saying what to do."""
        if self.error:
            raise AudioError(f"microphone: {self.error}")
        if not self.wav:
            raise AudioError("microphone: nothing recorded yet; press Record, speak, press Stop")
        return decode_audio_bytes(self.wav, source="microphone")
