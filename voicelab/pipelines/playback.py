"""Collects agent audio as it arrives and stamps first, first-audible and last audio."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voicelab.audio import PCM16_FULL_SCALE, AudioClip, first_audible_index
from voicelab.timeline import Event, TimelineRecorder


class PlaybackRecorder:
    """Models a listener's playback: it starts with the first audio and runs continuously.

    A sample is heard at ``max(its chunk's arrival, first audio + its offset / rate)``, so the
    first *audible* stamp includes any leading silence the synthesiser put before speech.
    """

    def __init__(
        self, recorder: TimelineRecorder, sample_rate_hz: int, audible_threshold_dbfs: float
    ) -> None:
        self._recorder = recorder
        self._rate_hz = sample_rate_hz
        self._threshold_dbfs = audible_threshold_dbfs
        self._chunks: list[npt.NDArray[np.int16]] = []
        self._samples_so_far = 0
        self._audible_found = False

    def add(self, pcm16: npt.NDArray[np.int16], arrived_ns: int | None = None) -> None:
        """Record one chunk of 16-bit agent audio arriving now (or at ``arrived_ns``)."""
        if pcm16.size == 0:
            return
        now = self._recorder.now_ns() if arrived_ns is None else arrived_ns
        first_ns = self._recorder.first(Event.FIRST_AGENT_AUDIO, now)
        self._recorder.last(Event.LAST_AGENT_AUDIO, now)
        if not self._audible_found:
            index = first_audible_index(pcm16, self._threshold_dbfs, full_scale=PCM16_FULL_SCALE)
            if index is not None:
                self._audible_found = True
                offset_ns = (self._samples_so_far + index) * 1_000_000_000 // self._rate_hz
                self._recorder.first(Event.FIRST_AUDIBLE_AUDIO, max(now, first_ns + offset_ns))
        self._chunks.append(pcm16)
        self._samples_so_far += pcm16.size

    def finish(self) -> AudioClip | None:
        """All agent audio as one clip, or None if the agent said nothing."""
        if not self._chunks:
            return None
        samples = np.concatenate(self._chunks).astype(np.float32) / (PCM16_FULL_SCALE + 1)
        return AudioClip(samples.astype(np.float32), self._rate_hz, source="agent")
