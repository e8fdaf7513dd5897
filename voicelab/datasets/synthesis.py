"""Speak a conversation script (``voicelab.datasets.script``) into a dataset folder.

The folder gets ``audio/<conversation>_<turn>.wav`` and a ``manifest.jsonl`` that
``load_dataset`` reads: each turn's ``text`` is its reference transcript, its expectations and
tags are carried along, and ``voice``, ``speaker`` (the voice unless the script names one) and
``tts_model`` are added as tags. Noise and other conditions are ``voicelab datasets transform``'s.

Reruns reuse finished audio. ``synthesis.json`` in the folder records, per audio file, the key
of what made it (a SHA-256 of the turn's text and its voice's identity: backend, model, voice,
format, never a key) and the SHA-256 of the file's bytes. A file whose key and bytes both match
is kept: the same script into the same folder speaks nothing again, an edited turn alone is
spoken again, and a file changed or deleted by hand is remade. Audio of turns gone from the
script is removed. The record is saved after every turn, so an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicelab.audio import AudioClip, save_audio
from voicelab.datasets.script import ScriptTurn, read_script
from voicelab.datasets.tts import SpeechSynthesizer, VoiceChoice
from voicelab.errors import DatasetError

MANIFEST_NAME = "manifest.jsonl"
RECORD_NAME = "synthesis.json"
_RECORD_FORMAT = 1


@dataclass(frozen=True)
class SynthesisSummary:
    """What a synthesis wrote: the manifest, and how many turns were spoken or reused."""

    manifest: Path
    spoken: int
    reused: int


def synthesize_script(
    script: str | Path,
    out_dir: str | Path,
    synthesizer: SpeechSynthesizer,
    on_turn: Callable[[ScriptTurn, bool], None] | None = None,
) -> SynthesisSummary:
    """Speak every turn of ``script`` into ``out_dir`` (``on_turn(turn, reused)`` after each)."""
    out_dir = Path(out_dir)
    turns = [turn for conversation in read_script(script) for turn in conversation.turns]
    # every turn's voice is checked before any audio is made
    voices = [synthesizer.voice(t.voice, t.language, t.where) for t in turns]
    record = _SynthesisRecord.open(out_dir)
    manifest: list[dict[str, Any]] = []
    spoken = 0
    for turn, voice in zip(turns, voices, strict=True):
        name = f"audio/{turn.conversation_id}_{turn.turn_index}.wav"
        key = synthesis_key(turn.text, voice)
        reused = record.holds(name, key)
        if not reused:
            record.save(name, key, synthesizer.synthesize(turn.text, voice, turn.where))
            spoken += 1
        manifest.append(_manifest_record(turn, voice, name, synthesizer.model_name))
        if on_turn is not None:
            on_turn(turn, reused)
    record.remove_all_but({m["audio"] for m in manifest})
    path = out_dir / MANIFEST_NAME
    _write_atomically(path, "".join(json.dumps(m) + "\n" for m in manifest))
    return SynthesisSummary(manifest=path, spoken=spoken, reused=len(manifest) - spoken)


def synthesis_key(text: str, voice: VoiceChoice) -> str:
    """What decides a turn's audio, hashed: its text and its voice's identity."""
    made_of = json.dumps({"text": text, "voice": dict(voice.identity)}, sort_keys=True)
    return hashlib.sha256(made_of.encode("utf-8")).hexdigest()


def _manifest_record(
    turn: ScriptTurn, voice: VoiceChoice, audio: str, model_name: str
) -> dict[str, Any]:
    return {
        "conversation_id": turn.conversation_id, "turn_index": turn.turn_index, "audio": audio,
        "text": turn.text, **turn.fields, "voice": voice.name,
        "speaker": turn.speaker or voice.name, "tts_model": model_name,
    }  # fmt: skip


class _SynthesisRecord:
    """``synthesis.json``: the key and bytes' hash of each audio file the synthesiser made."""

    def __init__(self, folder: Path, entries: dict[str, dict[str, str]]) -> None:
        self.folder = folder
        self.entries = entries

    @classmethod
    def open(cls, folder: Path) -> _SynthesisRecord:
        path = folder / RECORD_NAME
        if not path.exists():
            return cls(folder, {})
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["format"] != _RECORD_FORMAT:
                raise ValueError(f"format {data['format']!r}, expected {_RECORD_FORMAT}")
            entries = {
                str(k): {"key": str(v["key"]), "sha256": str(v["sha256"])}
                for k, v in data["audio"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise DatasetError(
                f"{path}: not a synthesis record voicelab can read ({e}); delete it to speak "
                "every turn again"
            ) from e
        return cls(folder, entries)

    def holds(self, name: str, key: str) -> bool:
        """Whether ``name`` was made from ``key`` and its bytes are unchanged since."""
        entry = self.entries.get(name)
        path = self.folder / name
        return (
            entry is not None and entry["key"] == key and path.is_file()
            and _sha256(path) == entry["sha256"]
        )  # fmt: skip

    def save(self, name: str, key: str, clip: AudioClip) -> None:
        """Write the clip (whole, or not at all) and record it."""
        path = self.folder / name
        partial = path.with_name(f".{path.stem}.partial.wav")
        save_audio(clip, partial)
        os.replace(partial, path)
        self.entries[name] = {"key": key, "sha256": _sha256(path)}
        self._write()

    def remove_all_but(self, names: set[str]) -> None:
        """Delete the audio this record made for turns no longer in the script."""
        for name in set(self.entries) - names:
            (self.folder / name).unlink(missing_ok=True)
            del self.entries[name]
        self._write()

    def _write(self) -> None:
        data = {"format": _RECORD_FORMAT, "audio": dict(sorted(self.entries.items()))}
        _write_atomically(self.folder / RECORD_NAME, json.dumps(data, indent=1) + "\n")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
