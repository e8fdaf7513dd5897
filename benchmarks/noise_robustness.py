"""WER of chained-local's speech-to-text vs SNR (white and babble noise) and the telephone band.

    .venv/bin/python benchmarks/noise_robustness.py [--fsdd-clips N] [--seed S]

Every clip of the shared LJ Speech sample and the FSDD sample (or ``--fsdd-clips`` of them,
spread over the speakers) is conditioned with ``voicelab.datasets.conditions`` (clean; white and
babble noise at 20, 10, 5 and 0 dB SNR; telephone band) and transcribed by the Whisper model
chained-local uses, with chained-local's own ``WhisperConfig``, called directly (the STT stage
alone: no LLM, no TTS). Printed: corpus WER over both samples (word-weighted), and per sample.
Babble is mixed from the other clips of the same sample.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from voicelab import load_dataset
from voicelab.datasets.conditions import apply_conditions
from voicelab.datasets.types import Dataset
from voicelab.metrics.wer import error_rates
from voicelab.pipelines.chained.config import ChainedLocalConfig
from voicelab.providers.whisper_stt import FasterWhisperSTTModel
from voicelab.registry import chained_local_whisper

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CORPORA = {"LJSpeech": "ljspeech-sample", "FSDD": "fsdd-sample"}
SNRS_DB = (20, 10, 5, 0)
CONDITIONS: tuple[tuple[str, ...], ...] = (
    (),
    *((f"noise=white,snr_db={snr}",) for snr in SNRS_DB),
    *((f"noise=babble,snr_db={snr}",) for snr in SNRS_DB),
    ("telephone",),
)


def _corpora(fsdd_clips: int | None) -> dict[str, Dataset]:
    corpora = {label: load_dataset(SHARED / folder) for label, folder in CORPORA.items()}
    fsdd = corpora["FSDD"]
    if fsdd_clips is not None and fsdd_clips < fsdd.num_turns:
        step = fsdd.num_turns // fsdd_clips
        kept = fsdd.conversations[::step][:fsdd_clips]
        corpora["FSDD"] = Dataset(name=fsdd.name, conversations=kept)
    return corpora


def _transcripts(stt: FasterWhisperSTTModel, dataset: Dataset) -> tuple[list[str], list[str]]:
    turns = [t for c in dataset for t in c.turns]
    return [t.reference_text or "" for t in turns], [
        stt.transcribe_clip(t.load_clip()) for t in turns
    ]


def main() -> None:
    """Run the sweep and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsdd-clips", type=int, help="FSDD clips to use (default: all 150)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the conditions")
    args = parser.parse_args()
    whisper = chained_local_whisper(ChainedLocalConfig())
    stt = FasterWhisperSTTModel(whisper)
    corpora = _corpora(args.fsdd_clips)
    sizes = ", ".join(f"{label} {d.num_turns} clips" for label, d in corpora.items())
    print(f"STT: {whisper.served_name} with chained-local's WhisperConfig "
          f"(beam_size={whisper.beam_size}, temperature_fallback={whisper.temperature_fallback}), "
          "called directly: the STT stage alone")  # fmt: skip
    print(f"clips: {sizes}; condition seed {args.seed}\n")
    labels = list(corpora)
    header = f"{'condition':<28} {'corpus WER':>10} " + " ".join(f"{la:>10}" for la in labels)
    print(header + f" {'seconds':>8}")
    print("-" * (len(header) + 9))
    for conditions in CONDITIONS:
        started = time.perf_counter()
        refs: dict[str, list[str]] = {}
        hyps: dict[str, list[str]] = {}
        for label, dataset in corpora.items():
            conditioned = apply_conditions(dataset, conditions, args.seed)
            refs[label], hyps[label] = _transcripts(stt, conditioned)
        pooled = error_rates(
            [r for la in labels for r in refs[la]], [h for la in labels for h in hyps[la]]
        )
        per = [error_rates(refs[la], hyps[la]).wer for la in labels]
        name = conditions[0].replace(",snr_db=", " ") if conditions else "clean"
        cells = " ".join(f"{100 * w:>9.1f}%" for w in per)
        elapsed = time.perf_counter() - started
        print(f"{name:<28} {100 * pooled.wer:>9.1f}% {cells} {elapsed:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
