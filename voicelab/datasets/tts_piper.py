"""Script turns spoken by a piper voice: the embedded one, or any ``.onnx`` voice file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from voicelab.audio import AudioClip, clip_from_array, pcm16_bytes_to_float
from voicelab.audio_formats import PCM_RATE_HZ
from voicelab.datasets.tts import VoiceChoice
from voicelab.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from voicelab.providers.piper_tts import PiperTTSModel


class PiperSpeech:
    """A ``SpeechSynthesizer`` over piper; a turn's ``voice`` is the path of another ``.onnx``
    voice. Each voice loads on its first turn, so a rerun that reuses all audio loads none."""

    def __init__(self, model_path: str | None = None) -> None:
        from voicelab.providers.local_config import PiperConfig

        self._default = model_path or PiperConfig().model_path
        self._models: dict[str, PiperTTSModel] = {}

    @property
    def model_name(self) -> str:
        return "piper"

    def voice(self, requested: str | None, language: str | None, where: str) -> VoiceChoice:
        path = Path(requested or self._default).resolve()
        sidecar = Path(f"{path}.json")  # piper reads its voice's settings from here
        if not path.is_file() or not sidecar.is_file():
            raise ConfigError(
                f"{where}: piper voice {path} not found (a piper voice is an .onnx file with its "
                ".onnx.json beside it)"
            )
        spoken = _espeak_language(sidecar)
        if language and spoken and _primary(language) != _primary(spoken):
            raise ConfigError(
                f"{where}: the turn's language is {language!r} but piper voice {path.name} speaks "
                f"{spoken!r}; give the turn (or --voice) a voice for that language"
            )
        identity = {"tts": "piper", "voice_file": path.name, "voice_bytes": path.stat().st_size}
        name = path.name.removesuffix(".onnx")
        return VoiceChoice(name=name, ref=str(path), identity=identity)

    def synthesize(self, text: str, voice: VoiceChoice, where: str) -> AudioClip:
        model = self._models.get(voice.ref) or self._load(voice.ref)
        try:
            pcm = b"".join(model.synthesize_pcm16(text))
        except ModelError as e:
            raise ModelError(f"{where}: {e}") from e
        # a text piper makes no sound of ("...") is refused here, not saved as an empty file
        return clip_from_array(pcm16_bytes_to_float(pcm), PCM_RATE_HZ, source=f"{where} (piper)")

    def _load(self, path: str) -> PiperTTSModel:
        from voicelab.providers.local_config import PiperConfig
        from voicelab.providers.piper_tts import PiperTTSModel

        # piper's own leading silence is kept: this is user speech, not a latency measurement
        model = PiperTTSModel(PiperConfig(model_path=path, max_leading_silence_ms=None))
        self._models[path] = model
        return model


def _espeak_language(sidecar: Path) -> str | None:
    """The language a piper voice speaks, from its ``.onnx.json`` (``espeak.voice``)."""
    try:
        settings = json.loads(sidecar.read_text(encoding="utf-8"))
        return str(settings["espeak"]["voice"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _primary(language: str) -> str:
    """``en`` of ``en-us``, ``en_GB`` or ``EN``."""
    return language.replace("_", "-").split("-")[0].lower()
