"""A/B the speech levers of chained-local, interleaved turn by turn on the shared clips.

    .venv/bin/python benchmarks/speech_levers.py [--clips N] [--mode static|streamed] [--stt-only]

``--stt-only``: faster-whisper alone on each clip, with and without the temperature fallback,
on one thread, with int8_float32, interleaved (and, with ``--fitted-windows``, an encoder
window shorter than 30 s: not a lever, WER explodes): median seconds and WER of each.
Otherwise: each clip runs through chained-local with every speech lever on, then with each
lever off in turn (a fresh conversation per turn), and the medians of the stages are printed
per variant, with the load average (the machine is shared: compare columns, not runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from voicelab import build_pipeline, load_dataset
from voicelab.audio import resample
from voicelab.datasets.types import Turn
from voicelab.metrics.latency import latency_figures
from voicelab.metrics.wer import error_rates
from voicelab.pipelines.chained.config import ChainedLocalConfig
from voicelab.pipelines.feeding import FeedConfig

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COLUMNS = ("endpointing_s", "stt_s", "llm_ttft_s", "agent_first_text_s", "text_buffer_s",
           "tts_ttfb_s", "voice_to_voice_s", "voice_to_audible_s")  # fmt: skip
LEVERS_OFF: dict[str, dict[str, Any]] = {
    "all on": {},
    "first_words_min_chars=0": {"first_words_min_chars": 0},
    "first_clause_min_chars=0": {"first_clause_min_chars": 0, "first_words_min_chars": 0},
    "tts_threads=1": {"tts_threads": 1},
    "stt_threads=1": {"stt_threads": 1},
    "tts_threads=None": {"tts_threads": None},
    "tts_max_leading_silence_ms=None": {"tts_max_leading_silence_ms": None},
    "stt_temperature_fallback=True": {"stt_temperature_fallback": True},
    "speculative_stt=False": {"speculative_stt": False},
    "vad_warmup_silence_ms=0": {"vad_warmup_silence_ms": 0},
}


def _clips(count: int) -> list[Turn]:
    """``count`` clips: every LJ Speech sentence, then digits spread over speakers."""
    turns = [t for name in ("ljspeech-sample", "fsdd-sample")
             for c in load_dataset(SHARED / name).conversations for t in c.turns]  # fmt: skip
    long, digits = turns[:8], turns[8:]
    step = max(1, len(digits) // max(1, count - len(long)))
    return (long + digits[::step])[:count]


def _fitted_window_texts(turns: list[Turn], window_s: float) -> tuple[list[str], list[float]]:
    """faster-whisper with the encoder fed the clip padded to ``window_s`` instead of 30 s
    (an experiment, not a lever: tiny.en then repeats itself and WER explodes)."""
    from faster_whisper import WhisperModel
    from faster_whisper.audio import pad_or_trim

    from voicelab.providers.local_config import WhisperConfig

    class Fitted(WhisperModel):  # type: ignore[misc]
        def generate_segments(self, features: Any, *args: Any, **kwargs: Any) -> Any:
            frames = features.shape[-1] - 1
            window = max(frames + 100, round(window_s * 100))  # + 1 s, 10 ms frames
            if frames <= 3000 and window < 3000:
                kwargs["encoder_output"] = self.encode(pad_or_trim(features[:, :frames], window))
            return super().generate_segments(features, *args, **kwargs)

    config = WhisperConfig()
    model = Fitted(config.model_path, device="cpu", compute_type="int8", cpu_threads=2)
    texts, seconds = [], []
    for turn in turns:
        audio = resample(turn.load_clip(), 16_000).samples
        start = time.perf_counter()
        segments, _ = model.transcribe(
            audio, language="en", beam_size=1, without_timestamps=True,
            condition_on_previous_text=False, temperature=0.0,
        )  # fmt: skip
        texts.append(" ".join(s.text.strip() for s in segments).strip())
        seconds.append(time.perf_counter() - start)
    return texts, seconds


def _stt_only(turns: list[Turn], fitted_windows_s: list[float]) -> None:
    from voicelab.providers.local_config import WhisperConfig
    from voicelab.providers.whisper_stt import FasterWhisperSTTModel

    variants = {
        "temperature fallback": FasterWhisperSTTModel(WhisperConfig(temperature_fallback=True)),
        "greedy (default)": FasterWhisperSTTModel(WhisperConfig()),
        "cpu_threads=1": FasterWhisperSTTModel(WhisperConfig(cpu_threads=1)),
        "compute_type=int8_float32": FasterWhisperSTTModel(
            WhisperConfig(compute_type="int8_float32")
        ),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    texts: dict[str, list[str]] = {name: [] for name in variants}
    for turn in turns:
        clip = resample(turn.load_clip(), 16_000)
        for name, model in variants.items():
            start = time.perf_counter()
            texts[name].append(model.transcribe_clip(clip))
            seconds[name].append(time.perf_counter() - start)
    for window_s in fitted_windows_s:
        name = f"encoder window {window_s:g} s"
        texts[name], seconds[name] = _fitted_window_texts(turns, window_s)
    refs = [t.reference_text or "" for t in turns]
    print(f"clips: {len(turns)}; load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name in texts:
        rates = error_rates(refs, texts[name])
        print(f"{name:<26} median {statistics.median(seconds[name]):.3f} s  WER {rates.wer:.3f}")


async def _levers(turns: list[Turn], streamed: bool, variants: list[str]) -> None:
    base = (
        ChainedLocalConfig(input_mode="streamed", feed=FeedConfig(mode="realtime"))
        if streamed
        else ChainedLocalConfig()
    )
    pipelines = {name: build_pipeline("chained-local", config=replace(base, **LEVERS_OFF[name]))
                 for name in variants}  # fmt: skip
    figures: dict[str, list[dict[str, float | None]]] = {name: [] for name in variants}
    errors = dict.fromkeys(variants, 0)
    for index, turn in enumerate(turns):
        order = variants if index % 2 == 0 else variants[::-1]  # no variant always goes first
        for name in order:
            pipeline = pipelines[name]
            state = await pipeline.start_conversation(f"{name}-{index}")
            result = await pipeline.run_turn(turn, state)
            await pipeline.end_conversation(state)
            if result.error:
                errors[name] += 1
            else:
                figures[name].append(latency_figures(result.timeline))
        print(f"turn {index + 1}/{len(turns)} done", file=sys.stderr, flush=True)
    print(f"mode: {'streamed, microphone-paced' if streamed else 'static'}; turns: {len(turns)}; "
          f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    print(f"{'variant (median s)':<34}" + "".join(f"{c.removesuffix('_s'):>13}" for c in COLUMNS)
          + f"{'v2v-endp':>10}{'errors':>8}")  # fmt: skip
    for name in variants:
        rows = figures[name]
        cells = [_median(rows, lambda r, c=c: r[c]) for c in COLUMNS]  # type: ignore[misc]
        after = _median(rows, _after_endpointing)
        print(f"{name:<34}" + "".join(f"{_fmt(v):>13}" for v in cells)
              + f"{_fmt(after):>10}{errors[name]:>8}")  # fmt: skip


def _after_endpointing(row: dict[str, float | None]) -> float | None:
    v2v, endpointing = row["voice_to_voice_s"], row["endpointing_s"]
    return None if v2v is None or endpointing is None else v2v - endpointing


def _median(
    rows: list[dict[str, float | None]], value: Callable[[dict[str, float | None]], float | None]
) -> float | None:
    values = [v for v in map(value, rows) if v is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=20, help="clips (LJ Speech first)")
    parser.add_argument("--mode", choices=("static", "streamed"), default="static")
    parser.add_argument("--stt-only", action="store_true", help="faster-whisper settings only")
    parser.add_argument("--variants", nargs="*", choices=list(LEVERS_OFF), help="default: all")
    parser.add_argument("--fitted-windows", nargs="*", type=float, default=[],
                        help="--stt-only: also these encoder windows, s (experiment)")  # fmt: skip
    args = parser.parse_args()
    turns = _clips(args.clips)
    if args.stt_only:
        _stt_only(turns, args.fitted_windows)
        return
    variants = args.variants or [
        v
        for v in LEVERS_OFF
        if args.mode == "streamed" or v not in ("speculative_stt=False", "vad_warmup_silence_ms=0")
    ]
    asyncio.run(_levers(turns, args.mode == "streamed", variants))


if __name__ == "__main__":
    main()
