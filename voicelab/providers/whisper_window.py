"""faster-whisper with an encoder window fitted to the clip instead of a fixed 30 s.

faster-whisper pads every clip's features to Whisper's 30 s window (3000 frames) before the
encoder, so a one-second turn costs as much encoder time as a thirty-second one. CTranslate2's
encoder accepts shorter inputs; this model encodes a clip of up to 30 s padded only to its
length plus a margin, then decodes exactly as faster-whisper does (its own
``generate_segments`` with that encoder output).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from voicelab._imports import require

FRAMES_PER_S = 100  # Whisper's log-mel features: a 10 ms hop
FULL_WINDOW_FRAMES = 3000  # 30 s, the window Whisper was trained on
ENCODER_MARGIN_S = 1.0  # padding after the clip, as Whisper always saw some: TODO measured
MIN_ENCODER_WINDOW_S = 2.0  # TODO measured


def fitted_frames(content_frames: int, margin_s: float, min_window_s: float) -> int:
    """Encoder frames for a clip of ``content_frames``: its length plus the margin, at least
    ``min_window_s``, at most Whisper's full window."""
    wanted = max(
        content_frames + round(margin_s * FRAMES_PER_S), round(min_window_s * FRAMES_PER_S)
    )
    return min(FULL_WINDOW_FRAMES, wanted)


def fitted_window_model(
    model_path: str, margin_s: float, min_window_s: float, **kwargs: Any
) -> Any:
    """A ``faster_whisper.WhisperModel`` whose first window is fitted to the clip."""
    model = _fitted_window_class()(model_path, **kwargs)
    model.margin_s, model.min_window_s = margin_s, min_window_s
    return model


@lru_cache(maxsize=1)
def _fitted_window_class() -> type[Any]:
    faster_whisper = require("faster_whisper")
    pad_or_trim = require("faster_whisper.audio").pad_or_trim

    class FittedWindowWhisperModel(faster_whisper.WhisperModel):  # type: ignore[misc, name-defined]
        margin_s = ENCODER_MARGIN_S
        min_window_s = MIN_ENCODER_WINDOW_S

        def generate_segments(
            self,
            features: Any,
            tokenizer: Any,
            options: Any,
            log_progress: bool,
            encoder_output: Any = None,
        ) -> Iterable[Any]:
            content_frames = features.shape[-1] - 1  # as generate_segments counts them
            if encoder_output is None and content_frames <= FULL_WINDOW_FRAMES:
                frames = fitted_frames(content_frames, self.margin_s, self.min_window_s)
                encoder_output = self.encode(pad_or_trim(features[:, :content_frames], frames))
            return super().generate_segments(  # type: ignore[no-any-return]
                features, tokenizer, options, log_progress, encoder_output
            )

    return FittedWindowWhisperModel
