"""Cost of the no-speech check each pipeline runs before sending a clip.

    .venv/bin/python benchmarks/speech_check.py [--repeats N]

Prints the median and max wall time of ``has_speech`` (resampling plus Silero VAD, the blocking
part ``require_speech`` runs in a thread) on: a typical ~3 s spoken turn from the demo dataset
(it stops at the first speech), 3 s and 10 min of digital silence (refused by its peak level
alone) and 10 min of white noise at -50 dBFS (the worst case: every window is scored twice).
The model is loaded once before timing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voicelab import AudioClip, has_speech, load_audio

DEMO = Path(__file__).resolve().parents[1] / "data" / "support"
RATE_HZ = 16_000  # the rate of the shared recordings' WAVs and of the silence made here


def _noise(seconds: float, dbfs: float) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(0)
    return rng.normal(0.0, 10 ** (dbfs / 20), int(seconds * RATE_HZ)).astype(np.float32)


def _time(clip: AudioClip, repeats: int) -> tuple[float, float, bool]:
    times, found = [], False
    for _ in range(repeats):
        start = time.perf_counter()
        found = has_speech(clip)
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    speech = min(
        (load_audio(p) for p in sorted(DEMO.rglob("*.wav"))),
        key=lambda c: abs(c.duration_s - 3.0),
    )
    has_speech(speech)  # loads the VAD model once, outside the timings
    clips = {
        f"speech {speech.duration_s:.1f} s ({Path(speech.source).name}, "
        f"{speech.sample_rate_hz} Hz)": speech,
        "silence 3 s": AudioClip(np.zeros(3 * RATE_HZ, dtype=np.float32), RATE_HZ),
        "silence 600 s": AudioClip(np.zeros(600 * RATE_HZ, dtype=np.float32), RATE_HZ),
        "noise -50 dBFS 600 s": AudioClip(_noise(600.0, -50.0), RATE_HZ),
    }
    print(f"{'clip':<48} {'median ms':>10} {'max ms':>10}  speech")
    for name, clip in clips.items():
        median_s, max_s, found = _time(clip, args.repeats)
        print(f"{name:<48} {median_s * 1000:>10.1f} {max_s * 1000:>10.1f}  {found}")


if __name__ == "__main__":
    main()
