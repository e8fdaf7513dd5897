"""Render a text script into a spoken dataset with a TTS voice, optionally with noise at an SNR.

A script is JSONL, one conversation per line:
``{"conversation_id": "...", "turns": [{"text": "...", "expected_tool": ..., ...}]}``.
The output folder gets ``audio/<conversation>_<turn>.wav`` and a ``manifest.jsonl`` that
``load_dataset`` reads, carrying every expectation of the script along.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from voicelab.audio import AudioClip, save_audio
from voicelab.errors import AudioError, DatasetError

Synthesize = Callable[[str], AudioClip]


def mix_noise(clip: AudioClip, snr_db: float, seed: int = 0) -> AudioClip:
    """Add white Gaussian noise so that speech power / noise power is ``snr_db``."""
    power = float(np.mean(clip.samples.astype(np.float64) ** 2))
    if power == 0.0:
        raise AudioError(f"{clip.source}: cannot set an SNR on silent audio")
    noise_power = power / 10 ** (snr_db / 10)
    noise = np.random.default_rng(seed).normal(0.0, np.sqrt(noise_power), clip.num_samples)
    mixed = np.clip(clip.samples + noise, -1.0, 1.0).astype(np.float32)
    return AudioClip(mixed, clip.sample_rate_hz, clip.source)


def render_script(
    script: str | Path,
    out_dir: str | Path,
    synthesize: Synthesize,
    snr_db: float | None = None,
) -> Path:
    """Speak every turn of ``script`` into ``out_dir``; returns the manifest path."""
    script, out_dir = Path(script), Path(out_dir)
    lines = [ln for ln in script.read_text(encoding="utf-8").splitlines() if ln.strip()]
    manifest: list[dict[str, Any]] = []
    for line_no, line in enumerate(lines, start=1):
        try:
            conversation = json.loads(line)
            conversation_id = str(conversation["conversation_id"])
            turns = conversation["turns"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise DatasetError(f"{script}:{line_no}: not a conversation line ({e})") from e
        for index, turn in enumerate(turns):
            clip = synthesize(turn["text"])
            if snr_db is not None:
                clip = mix_noise(clip, snr_db, seed=line_no * 1000 + index)
            name = f"audio/{conversation_id}_{index}.wav"
            save_audio(clip, out_dir / name)
            extra = {"snr_db": snr_db} if snr_db is not None else {}
            manifest.append({
                **turn, "audio": name, "conversation_id": conversation_id, "turn_index": index,
                **extra,
            })  # fmt: skip
    manifest_path = out_dir / "manifest.jsonl"
    manifest_path.write_text("".join(json.dumps(m) + "\n" for m in manifest), encoding="utf-8")
    return manifest_path


def piper_synthesizer(model_path: str | None = None) -> Synthesize:
    """A ``Synthesize`` over the embedded piper voice, at the voice's own sample rate."""
    from voicelab.providers.local_config import PiperConfig
    from voicelab.providers.local_models import load_piper

    config = PiperConfig(model_path=model_path) if model_path else PiperConfig()
    voice = load_piper(config)

    def synthesize(text: str) -> AudioClip:
        chunks = [c.audio_float_array for c in voice.synthesize(text)]
        samples = np.concatenate(chunks).astype(np.float32)
        return AudioClip(samples, int(voice.config.sample_rate), source=f"piper:{text[:30]}")

    return synthesize
